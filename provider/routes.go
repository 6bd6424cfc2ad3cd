package provider

import (
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// routes puts otpidp's own endpoints in front of zitadel/oidc's: discovery, the authorization
// endpoint and its callback, introspection and userinfo. Every other protocol path goes to the
// library.
func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	own := func(h http.HandlerFunc) http.Handler { return p.IssuerInterceptor(h) }
	mux.Handle(oidc.DiscoveryEndpoint, own(p.handleDiscovery))
	mux.Handle(p.op.AuthorizationEndpoint().Relative(), own(p.handleAuthorize))
	mux.Handle(p.CallbackPath(), own(p.handleCallback))
	mux.Handle(p.op.IntrospectionEndpoint().Relative(), own(p.handleIntrospect))
	mux.Handle(p.op.UserinfoEndpoint().Relative(), own(p.handleUserinfo))
	mux.Handle("/", p.op)
	return mux
}
