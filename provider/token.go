package provider

import (
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/provider/oautherr"
)

// The token and revocation endpoints (RFC 6749 §3.2, RFC 7009). The device code grant is
// otpidp's own (device.go); every other grant, and revocation, are zitadel/oidc's handlers run
// with this request's token crypto (the zitadel seam, zitadel_seam.go), so that a JWT-format
// client's access token leaves as an at+jwt and one is recognised when revoked.

// handleToken sends device code token requests to handleDeviceToken, the rest to the library.
// Code and refresh token grants are checked first (checkGrant, the zitadel seam's 6), and an
// answer without the openid scope loses the ID token the library always makes (the seam's 9).
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.PostFormValue("grant_type") == GrantDeviceCode {
		f := withoutIDTokenUnlessOpenID(w, r)
		p.handleDeviceToken(f, r)
		f.flush()
		return
	}
	if status, e := p.checkGrant(r); e != nil {
		oautherr.Write(w, status, e)
		return
	}
	f := withoutIDTokenUnlessOpenID(w, r)
	op.Exchange(f, r, p.exchanger(r.Context()))
	f.flush()
}

// handleRevocation serves the revocation endpoint.
func (p *Provider) handleRevocation(w http.ResponseWriter, r *http.Request) {
	op.Revoke(w, r, p.exchanger(r.Context()))
}
