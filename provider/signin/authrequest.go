package signin

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/storage"
)

// Prompt values (OpenID Connect Core §3.1.2.1).
const (
	promptNone    = "none"
	promptLogin   = "login"
	promptConsent = "consent"
)

// next is THE rule of what an authorization request needs next; nothing else decides it.
//
// Before anyone signed in for it: the browser's session s (nil when none) answers it unless
// prompt=login asks for a new sign-in, max_age is exceeded, or the id_token_hint names another
// user (StepContinue); otherwise prompt=none is answered login_required, and anything else is
// sent to sign in.
//
// Once signed in: prompt=none with an id_token_hint of another user is login_required; a
// refused consent is access_denied; consent is asked (consent_required under prompt=none)
// unless the client is first party or a remembered consent covers the scopes and is not older
// than a prompt=consent request; otherwise the code is issued.
func (c *Core) next(ctx context.Context, a storage.AuthRequest, s *storage.Session, consentDenied bool) (authflow.Step, error) {
	none := slices.Contains(a.Prompt, promptNone)
	if !a.Done() {
		if s != nil && !slices.Contains(a.Prompt, promptLogin) &&
			(a.MaxAge < 0 || c.now().Sub(s.AuthTime) <= time.Duration(a.MaxAge)*time.Second) &&
			(a.HintSubject == "" || a.HintSubject == s.UserID) {
			return authflow.StepContinue, nil
		}
		if none {
			return authflow.StepLoginRequired, nil
		}
		return authflow.StepSignIn, nil
	}
	if a.HintSubject != "" && a.HintSubject != a.UserID && none {
		return authflow.StepLoginRequired, nil
	}
	if consentDenied {
		return authflow.StepAccessDenied, nil
	}
	need, err := c.needsConsent(ctx, a)
	switch {
	case err != nil:
		return 0, err
	case need && none:
		return authflow.StepConsentRequired, nil
	case need:
		return authflow.StepConsent, nil
	}
	return authflow.StepIssueCode, nil
}

// needsConsent reports whether the user must be asked: never for first-party clients; for
// others when no remembered consent covers the scopes, or prompt=consent asked for a new one
// (one given during this request counts).
func (c *Core) needsConsent(ctx context.Context, a storage.AuthRequest) (bool, error) {
	cl, err := c.store.GetClient(ctx, a.ClientID)
	if err != nil {
		return false, err
	}
	if cl.FirstParty {
		return false, nil
	}
	consent, err := c.store.GetConsent(ctx, a.UserID, a.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if slices.Contains(a.Prompt, promptConsent) && consent.GrantedAt.Before(a.CreatedAt) {
		return true, nil
	}
	for _, scope := range a.Scopes {
		if !slices.Contains(consent.Scopes, scope) {
			return true, nil
		}
	}
	return false, nil
}

// Authorize is the provider's callback: it loads the request (authflow.ErrRequestExpired when
// it is unknown, expired or already has a code) and says what it needs next. The provider
// answers the client; the sign-in pages have already used the browser's session.
func (c *Core) Authorize(ctx context.Context, id string, consentDenied bool) (storage.AuthRequest, authflow.Step, error) {
	a, err := c.store.GetAuthRequest(ctx, id)
	if err != nil || !a.ExpiresAt.After(c.now()) || !a.CodeExpiresAt.IsZero() {
		return a, 0, authflow.ErrRequestExpired
	}
	step, err := c.next(ctx, a, nil, consentDenied)
	return a, step, err
}

// Silent decides a prompt=none request where it arrives (/authorize), by the request's
// session alone and before any browser-binding check: a browser that sends no cookies must
// get login_required, not the binding error of the sign-in page. It says StepLoginRequired
// when the session does not answer the request (next's rule), else StepContinue: the sign-in
// page then completes it with the session as usual.
func (c *Core) Silent(ctx context.Context, a storage.AuthRequest) (authflow.Step, error) {
	var sp *storage.Session
	if s, ok := c.session(ctx); ok {
		sp = &s
	}
	step, err := c.next(ctx, a, sp, false)
	if err != nil {
		return 0, err
	}
	if step == authflow.StepLoginRequired {
		return step, nil
	}
	return authflow.StepContinue, nil
}

// liveRequest loads a request that is live, not yet signed in for, and bound to this browser.
func (c *Core) liveRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	a, err := c.store.GetAuthRequest(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return a, authflow.ErrRequestExpired
	case err != nil:
		return a, err
	case !a.ExpiresAt.After(c.now()) || a.Done():
		return a, authflow.ErrRequestExpired
	case !boundTo(ctx, a.BrowserHash):
		return a, authflow.ErrOtherBrowser
	}
	return a, nil
}

func (c *Core) requestView(ctx context.Context, a storage.AuthRequest) authflow.AuthRequest {
	v := authflow.AuthRequest{ID: a.ID, ClientID: a.ClientID, UILocales: a.UILocales, LoginHint: a.LoginHint, Scopes: a.Scopes}
	if a.ClientID != "" {
		if cl, err := c.store.GetClient(ctx, a.ClientID); err == nil {
			v.ClientName = cl.Name
		}
	}
	return v
}

// AuthRequest returns the authorization request a sign-in page serves: live, not yet signed
// in for, and started by this browser (authflow.ErrRequestExpired, authflow.ErrOtherBrowser).
func (c *Core) AuthRequest(ctx context.Context, id string) (authflow.AuthRequest, error) {
	a, err := c.liveRequest(ctx, id)
	if err != nil {
		return authflow.AuthRequest{}, err
	}
	return c.requestView(ctx, a), nil
}

// AuthRequestInfo returns what a page shows of the request id refers to (its language and
// client), whatever its state; false when there is none.
func (c *Core) AuthRequestInfo(ctx context.Context, id string) (authflow.AuthRequest, bool) {
	if id == "" {
		return authflow.AuthRequest{}, false
	}
	a, err := c.store.GetAuthRequest(ctx, id)
	if err != nil {
		return authflow.AuthRequest{}, false
	}
	return c.requestView(ctx, a), true
}

// ResumeAuthRequest is the sign-in page of a request: when the browser's session answers it
// the request is completed (StepContinue: go to the callback); StepLoginRequired: go to the
// callback, which answers login_required; StepSignIn: show the page.
func (c *Core) ResumeAuthRequest(ctx context.Context, id string) (authflow.Step, error) {
	a, err := c.liveRequest(ctx, id)
	if err != nil {
		return 0, err
	}
	var sp *storage.Session
	if s, ok := c.session(ctx); ok {
		sp = &s
	}
	step, err := c.next(ctx, a, sp, false)
	if err != nil || step != authflow.StepContinue {
		return step, err
	}
	return step, c.complete(ctx, a.ID, sp.UserID, sp.AuthTime, sp.AMR)
}

// CompleteAuthRequest records who signed in for the request: the browser that started it must
// be the one finishing (authflow.ErrOtherBrowser); authflow.ErrRequestCompleted when it was
// completed meanwhile or is gone.
func (c *Core) CompleteAuthRequest(ctx context.Context, id string, res authflow.Result) error {
	a, err := c.store.GetAuthRequest(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return authflow.ErrRequestCompleted
	case err != nil:
		return err
	case !boundTo(ctx, a.BrowserHash):
		return authflow.ErrOtherBrowser
	}
	return c.complete(ctx, id, res.UserID, res.AuthTime, res.AMR)
}

func (c *Core) complete(ctx context.Context, id, userID string, authTime time.Time, amr []string) error {
	err := c.store.CompleteAuthRequest(ctx, id, userID, authTime.UTC(), amr, c.now())
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return authflow.ErrRequestCompleted
	}
	return err
}

// CheckCallback guards the provider's authorization callback: the request must have been
// completed by the browser that started it (zitadel/oidc only checks that it is done).
// authflow.ErrRequestExpired when it is unknown, authflow.ErrOtherBrowser for another browser.
func (c *Core) CheckCallback(ctx context.Context, id string) error {
	a, err := c.store.GetAuthRequest(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return authflow.ErrRequestExpired
	case err != nil:
		return err
	case !boundTo(ctx, a.BrowserHash):
		return authflow.ErrOtherBrowser
	}
	return nil
}
