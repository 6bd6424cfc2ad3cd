// Package provider is otpidp's OpenID provider: it adapts otpidp's storage to zitadel/oidc's
// op.Storage, manages clients and signing keys, builds the claims, and mounts the protocol
// endpoints (discovery, JWKS, authorize, token, userinfo, introspection, revocation,
// end_session).
package provider
