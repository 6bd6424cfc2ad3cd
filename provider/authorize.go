package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/oautherr"
	"github.com/otpidp/otpidp/storage"
)

// The authorization endpoint and its callback are otpidp's own (on zitadel/oidc's validators),
// because the library's leave out what the specifications ask for: iss in every authorization
// response (RFC 9207), errors in form_post mode, prompt=none and consent answered by the
// callback, and id_token_hint remembered for the sign-in.

// responseTarget is where an authorization response goes: a redirect URI already checked
// against the client's registration.
type responseTarget struct {
	redirectURI string
	state       string
	formPost    bool
	fragment    bool // response_mode=fragment: the parameters go in the redirect URI's fragment
}

// newTarget is where a request's answer goes, in the response mode it asked for.
func newTarget(redirectURI, state, mode string) *responseTarget {
	return &responseTarget{redirectURI: redirectURI, state: state,
		formPost: mode == string(oidc.ResponseModeFormPost), fragment: mode == string(oidc.ResponseModeFragment)}
}

// handleAuthorize serves GET and POST /authorize (OpenID Connect Core §3.1.2.1).
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !p.admit(w, r) { // the rate limit and the size bound (authorizebounds.go)
		return
	}
	req, err := op.ParseAuthorizeRequest(r, p.op.Decoder())
	if err != nil {
		p.authorizeError(w, r, nil, err)
		return
	}
	if e, _ := checkAuthorizeParams(r.Form, unsafeAuthorizeParams...); e != nil {
		p.authorizeError(w, r, nil, e) // not sent back: the client is unchecked
		return
	}
	if req.ClientID == "" {
		p.authorizeError(w, r, nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("client_id is missing"))
		return
	}
	client, err := p.op.Storage().GetClientByClientID(ctx, req.ClientID)
	if err != nil {
		p.authorizeError(w, r, nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client").WithParent(err))
		return
	}
	// Until the redirect URI is known to be the client's, nothing redirects (RFC 6749 §4.1.2.1).
	if err := op.ValidateAuthReqRedirectURI(client, req.RedirectURI, oidc.ResponseTypeCode); err != nil {
		p.authorizeError(w, r, nil, err)
		return
	}
	// The library's loopback rule ignores the host as well as the port; otpidp's does not.
	if !matchRedirectURI(client.RedirectURIs(), client.ApplicationType() == op.ApplicationTypeNative, req.RedirectURI) {
		p.authorizeError(w, r, nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is not registered for this client"))
		return
	}
	target := newTarget(req.RedirectURI, req.State, string(req.ResponseMode))
	if e, isState := checkAuthorizeParams(r.Form); e != nil {
		if isState {
			target.state = "" // not sent back
		}
		p.authorizeError(w, r, target, e)
		return
	}
	switch {
	case req.RequestParam != "":
		p.authorizeError(w, r, target, &oidc.Error{ErrorType: oidc.RequestNotSupported, Description: "request objects are not supported"})
		return
	case r.Form.Get("request_uri") != "":
		p.authorizeError(w, r, target, &oidc.Error{ErrorType: "request_uri_not_supported", Description: "request_uri is not supported"})
		return
	case req.ResponseType != oidc.ResponseTypeCode:
		p.authorizeError(w, r, target, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"})
		return
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery && req.ResponseMode != oidc.ResponseModeFormPost && req.ResponseMode != oidc.ResponseModeFragment:
		target.fragment, target.formPost = false, false
		p.authorizeError(w, r, target, oidc.ErrInvalidRequest().WithDescription("response_mode must be query, fragment or form_post"))
		return
	}
	hintSubject, err := op.ValidateAuthRequestClient(ctx, req, client, p.op.IDTokenHintVerifier(ctx))
	if err != nil {
		p.authorizeError(w, r, target, err)
		return
	}
	if full, err := p.pendingCapReached(r); err != nil || full {
		if err != nil {
			p.authorizeError(w, r, target, oidc.DefaultToServerError(err, "could not count the pending authorization requests"))
			return
		}
		p.storage.log.WarnContext(ctx, "authorization request refused: too many pending from this address", "cap", p.authorize.cfg.PendingPerIP)
		http.Error(w, "too many unfinished sign-ins from this network; finish one or try again later", http.StatusTooManyRequests)
		return
	}
	claims, cerr := parseClaimsParameter(r.Form.Get("claims"))
	if cerr != nil {
		p.authorizeError(w, r, target, cerr)
		return
	}
	if claims.sub != "" {
		if hintSubject != "" && hintSubject != claims.sub {
			p.authorizeError(w, r, target, oidc.ErrInvalidRequest().WithDescription("the sub of the claims parameter is not the one of id_token_hint"))
			return
		}
		hintSubject = claims.sub
	}
	a, err := p.storage.createAuthRequest(ctx, req, hintSubject, claims.idToken)
	if err != nil {
		p.authorizeError(w, r, target, oidc.DefaultToServerError(err, "could not save the authorization request"))
		return
	}
	// prompt=none is decided here, by the browser's session alone: a browser that sends no
	// cookies (a cross-site iframe, third-party cookies blocked) has neither a session nor a
	// binding cookie the sign-in page could check, and must learn login_required at once
	// (OpenID Connect Core §3.1.2.6) rather than an error page it cannot show.
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		ar, _ := a.(authRequest)
		step, err := p.signIn.Silent(ctx, ar.a)
		switch {
		case err != nil:
			p.authorizeError(w, r, target, oidc.ErrServerError().WithParent(err))
			return
		case step == authflow.StepLoginRequired:
			p.authorizeError(w, r, target, oidc.ErrLoginRequired().WithDescription("the user is not signed in"))
			return
		}
	}
	http.Redirect(w, r, client.LoginURL(a.GetID()), http.StatusFound)
}

// handleCallback serves /authorize/callback, where the sign-in pages send the browser once
// the user has authenticated (or, for prompt=none, found no session). What the request needs
// next (sign-in, consent, or the answer) is the sign-in core's one rule (signin.Core's next);
// the provider gives the HTTP and OAuth answer.
func (p *Provider) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, step, err := p.signIn.Authorize(ctx, r.URL.Query().Get("id"), r.URL.Query().Get("consent") == "denied")
	if errors.Is(err, authflow.ErrRequestExpired) {
		p.authorizeError(w, r, nil, oidc.ErrInvalidRequest().WithDescription("unknown, expired or answered authorization request"))
		return
	}
	target := newTarget(a.RedirectURI, a.State, a.ResponseMode)
	if err != nil {
		p.authorizeError(w, r, target, oidc.ErrServerError().WithParent(err))
		return
	}
	switch step {
	case authflow.StepSignIn:
		http.Redirect(w, r, p.storage.cfg.LoginPath+"?authRequestID="+url.QueryEscape(a.ID), http.StatusFound)
	case authflow.StepLoginRequired:
		e := oidc.ErrLoginRequired().WithDescription("the user is not signed in")
		if a.Done() {
			e = oidc.ErrLoginRequired().WithDescription("the signed-in user is not the one of id_token_hint")
		}
		p.authorizeError(w, r, target, e)
	case authflow.StepAccessDenied:
		p.authorizeError(w, r, target, &oidc.Error{ErrorType: oidc.AccessDenied, Description: "the user did not allow access"})
	case authflow.StepConsentRequired:
		p.authorizeError(w, r, target, &oidc.Error{ErrorType: "consent_required", Description: "the user has not consented to this client"})
	case authflow.StepConsent:
		http.Redirect(w, r, p.storage.cfg.ConsentPath+"?authRequestID="+url.QueryEscape(a.ID), http.StatusFound)
	default: // authflow.StepIssueCode
		code, err := op.CreateAuthRequestCode(ctx, authRequest{a}, p.op.Storage(), p.op.Crypto())
		if err != nil {
			p.authorizeError(w, r, target, oidc.DefaultToServerError(err, "could not issue a code"))
			return
		}
		p.respond(w, r, target, url.Values{"code": {code}})
	}
}

// authorizeError answers an authorization request with an error: back to the client when the
// target is known and the error allows it, otherwise a plain 400 (which the browser-facing
// wrapper turns into the error page; nothing redirects).
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, target *responseTarget, err error) {
	e := oidc.DefaultToServerError(err, err.Error())
	if _, typed := errors.AsType[*oidc.Error](err); !typed && e.ErrorType == oidc.ServerError {
		// An internal error's text (a driver's) is for the log only.
		p.storage.log.ErrorContext(r.Context(), "authorization request failed", "error", err)
		e = oidc.ErrServerError()
	}
	if errors.Is(err, storage.ErrUnavailable) {
		// RFC 6749 §4.1.2.1: the one code for "try again later"; never the cause.
		e = &oidc.Error{ErrorType: "temporarily_unavailable", Description: oautherr.UnavailableDescription}
	}
	p.storage.log.InfoContext(r.Context(), "authorization request refused", "error", string(e.ErrorType), "description", e.Description, "redirect", target != nil && !e.IsRedirectDisabled())
	if target == nil || e.IsRedirectDisabled() {
		http.Error(w, e.Description, http.StatusBadRequest)
		return
	}
	params := url.Values{"error": {string(e.ErrorType)}}
	if e.Description != "" {
		params.Set("error_description", e.Description)
	}
	p.respond(w, r, target, params)
}

// respond sends an authorization response: state and iss (RFC 9207) are added; the parameters
// go in the query of the redirect URI, in its fragment (response_mode=fragment, OAuth 2.0
// Multiple Response Type Encoding Practices §2) or, for response_mode=form_post, in an
// auto-submitted form (OAuth 2.0 Form Post Response Mode).
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, t *responseTarget, params url.Values) {
	if t.state != "" {
		params.Set("state", t.state)
	}
	params.Set("iss", p.issuer)
	w.Header().Set("Cache-Control", "no-store")
	if !t.formPost {
		u, err := url.Parse(t.redirectURI)
		if err != nil {
			http.Error(w, "invalid redirect URI", http.StatusBadRequest)
			return
		}
		if t.fragment {
			u.Fragment, u.RawFragment = "", ""
			http.Redirect(w, r, u.String()+"#"+params.Encode(), http.StatusFound)
			return
		}
		q := u.Query()
		for k, v := range params {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	type field struct{ Name, Value string }
	var fields []field
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !yield(k) {
				return
			}
		}
	}) {
		fields = append(fields, field{k, params.Get(k)})
	}
	var b strings.Builder
	if err := formPostPage.Execute(&b, struct {
		Action string
		Fields []field
	}{t.redirectURI, fields}); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// The page's only script is the one below, allowed by its hash; the form may go to the
	// client's origin only.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src '"+formPostScriptHash+"'; form-action "+formAction(t.redirectURI)+"; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, b.String())
}

const formPostScript = `document.forms[0].submit();`

var formPostScriptHash = func() string {
	h := sha256.Sum256([]byte(formPostScript))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}()

var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Continuing…</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>JavaScript is off: choose Continue to go back to the app.</p><button type="submit">Continue</button></noscript>
</form>
<script>` + formPostScript + `</script>
</body></html>
`))

// formAction is the CSP source for a redirect URI: its origin, or its scheme for private-use
// URI schemes of native apps.
func formAction(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "'none'"
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}
