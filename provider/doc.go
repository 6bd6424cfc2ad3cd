// Package provider is otpidp's OpenID provider: it adapts otpidp's storage to zitadel/oidc's
// op.Storage, manages clients and signing keys, builds the claims, and mounts the protocol
// endpoints (discovery, JWKS, authorize, token, userinfo, introspection, revocation,
// end_session). Every place where it corrects or bends zitadel/oidc is in zitadel_seam.go,
// with its tests in zitadel_seam_test.go; harness_test.go serves a Provider on SQLite with a
// fake clock for tests beside the code.
package provider
