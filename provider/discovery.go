package provider

import (
	"encoding/json"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/provider/oautherr"
)

// discoveryDocument is otpidp's OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3,
// RFC 8414). It is otpidp's own rather than zitadel/oidc's, which advertises what otpidp does
// not offer (implicit and hybrid response types, the fragment mode, request objects by
// reference, more grant types): every member below works, and nothing else is claimed.
type discoveryDocument struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgValues     []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgValues  []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	UILocalesSupported                         []string `json:"ui_locales_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// supportedClaims are the claims otpidp puts in ID tokens and userinfo answers: the one list,
// for discovery and for the library's op.Config (newOP).
var supportedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "azp",
	"name", "updated_at", "phone_number", "phone_number_verified",
}

func (p *Provider) discovery() discoveryDocument {
	abs := func(path string) string { return p.issuer + path }
	return discoveryDocument{
		Issuer:                                     p.issuer,
		AuthorizationEndpoint:                      abs(p.op.AuthorizationEndpoint().Relative()),
		TokenEndpoint:                              abs(p.op.TokenEndpoint().Relative()),
		UserinfoEndpoint:                           abs(p.op.UserinfoEndpoint().Relative()),
		JWKSURI:                                    abs(p.op.KeysEndpoint().Relative()),
		EndSessionEndpoint:                         abs(p.op.EndSessionEndpoint().Relative()),
		RevocationEndpoint:                         abs(p.op.RevocationEndpoint().Relative()),
		IntrospectionEndpoint:                      abs(p.op.IntrospectionEndpoint().Relative()),
		DeviceAuthorizationEndpoint:                abs(DeviceAuthorizationPath),
		ScopesSupported:                            supportedScopes,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query", "fragment", "form_post"},
		GrantTypesSupported:                        grantTypes,
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           idTokenAlgs,
		TokenEndpointAuthMethodsSupported:          []string{"client_secret_basic", "client_secret_post", AuthMethodPrivateKeyJWT, "none"},
		TokenEndpointAuthSigningAlgValuesSupported: clientAssertionAlgs,
		RevocationEndpointAuthMethodsSupported:     []string{"client_secret_basic", "client_secret_post", AuthMethodPrivateKeyJWT, "none"},
		RevocationEndpointAuthSigningAlgValues:     clientAssertionAlgs,
		IntrospectionEndpointAuthMethodsSupported:  []string{"client_secret_basic", "client_secret_post", AuthMethodPrivateKeyJWT},
		IntrospectionEndpointAuthSigningAlgValues:  clientAssertionAlgs,
		CodeChallengeMethodsSupported:              []string{"S256"},
		ClaimsSupported:                            supportedClaims,
		PromptValuesSupported:                      []string{"none", "login", "consent"},
		UILocalesSupported:                         p.storage.cfg.UILocales,
		AuthorizationResponseIssParameterSupported: true,
		ClaimsParameterSupported:                   true,
	}
}

// handleDiscovery serves /.well-known/openid-configuration.
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		oautherr.Write(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("the discovery document takes GET or HEAD only"))
		return
	}
	b, err := json.Marshal(p.discovery())
	if err != nil {
		oautherr.Write(w, http.StatusInternalServerError, oidc.ErrServerError())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
