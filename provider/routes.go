package provider

import (
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// routes puts otpidp's own endpoints in front of zitadel/oidc's: discovery, the authorization
// endpoint and its callback, introspection, userinfo, the device authorization endpoint and
// the device code grant at the token endpoint. Every other protocol path goes to the
// library.
func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	own := func(h http.HandlerFunc) http.Handler { return p.IssuerInterceptor(h) }
	mux.Handle(oidc.DiscoveryEndpoint, own(p.handleDiscovery))
	mux.Handle(p.op.AuthorizationEndpoint().Relative(), own(p.handleAuthorize))
	mux.Handle(p.CallbackPath(), own(p.handleCallback))
	mux.Handle(p.op.IntrospectionEndpoint().Relative(), own(p.handleIntrospect))
	mux.Handle(p.op.UserinfoEndpoint().Relative(), own(p.handleUserinfo))
	mux.Handle(p.op.TokenEndpoint().Relative(), own(p.handleToken))
	mux.Handle(DeviceAuthorizationPath, own(p.handleDeviceAuthorization))
	mux.Handle("/", p.op)
	return mux
}
