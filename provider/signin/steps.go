package signin

import (
	"context"
	"slices"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

// The steps of sign-in, registration, reset and the account page, fronting the authenticator
// (provider/auth) for the pages: every flow is bound to the request's browser (reqinfo), and
// lang (the pages' language) is the language of the texts sent.

func withLang(ctx context.Context, lang string) context.Context { return auth.WithLanguage(ctx, lang) }

func browser(ctx context.Context) []byte { return reqinfo.From(ctx).BrowserHash }

// ResetNeedsRecoveryCode reports whether a reset asks for a recovery code besides the SMS code.
func (c *Core) ResetNeedsRecoveryCode() bool { return c.auth.ResetNeedsRecoveryCode() }

// Flow returns this browser's flow id, which must be of one of kinds
// (authflow.ErrFlowNotFound otherwise).
func (c *Core) Flow(ctx context.Context, id string, kinds ...authflow.FlowKind) (authflow.FlowView, error) {
	f, err := c.auth.Flow(ctx, id, browser(ctx))
	if err != nil {
		return f, err
	}
	if !slices.Contains(kinds, f.Kind) {
		return f, authflow.ErrFlowNotFound
	}
	return f, nil
}

// StartLogin checks the phone number and password and sends the code (auth.StartLogin).
func (c *Core) StartLogin(ctx context.Context, lang, phoneInput, password, authRequestID string) (authflow.FlowView, error) {
	return c.auth.StartLogin(withLang(ctx, lang), phoneInput, password, authRequestID, browser(ctx))
}

// StartRegistration checks the new account and sends the code (auth.StartRegistration).
func (c *Core) StartRegistration(ctx context.Context, lang, name, phoneInput, password, authRequestID string) (authflow.FlowView, error) {
	return c.auth.StartRegistration(withLang(ctx, lang), name, phoneInput, password, authRequestID, browser(ctx))
}

// VerifyCode checks the texted code of a sign-in or registration flow. The flow's view comes
// back with a refusal, for the page to show again.
func (c *Core) VerifyCode(ctx context.Context, flowID, code string) (authflow.FlowView, authflow.Result, error) {
	f, err := c.Flow(ctx, flowID, authflow.FlowLogin, authflow.FlowRegister)
	if err != nil {
		return f, authflow.Result{}, err
	}
	verify := c.auth.VerifyLogin
	if f.Kind == authflow.FlowRegister {
		verify = c.auth.VerifyRegistration
	}
	res, err := verify(ctx, f.ID, browser(ctx), code)
	return f, res, err
}

// VerifyRecoveryCode finishes a sign-in flow with a recovery code instead of the texted one.
func (c *Core) VerifyRecoveryCode(ctx context.Context, flowID, recoveryCode string) (authflow.FlowView, authflow.Result, error) {
	f, err := c.Flow(ctx, flowID, authflow.FlowLogin)
	if err != nil {
		return f, authflow.Result{}, err
	}
	res, err := c.auth.VerifyLoginRecovery(ctx, f.ID, browser(ctx), recoveryCode)
	return f, res, err
}

// Resend sends a new code for the flow (auth.Resend).
func (c *Core) Resend(ctx context.Context, lang, flowID string) (authflow.FlowView, error) {
	return c.auth.Resend(withLang(ctx, lang), flowID, browser(ctx))
}

// StartReset starts a password reset (auth.StartReset).
func (c *Core) StartReset(ctx context.Context, lang, phoneInput, authRequestID string) (authflow.FlowView, error) {
	return c.auth.StartReset(withLang(ctx, lang), phoneInput, authRequestID, browser(ctx))
}

// VerifyReset checks a reset flow's codes (auth.VerifyReset).
func (c *Core) VerifyReset(ctx context.Context, flowID, code, recoveryCode string) (authflow.FlowView, error) {
	f, err := c.Flow(ctx, flowID, authflow.FlowReset)
	if err != nil {
		return f, err
	}
	return f, c.auth.VerifyReset(ctx, f.ID, browser(ctx), code, recoveryCode)
}

// ResetReady returns a verified reset flow, ready for the new password.
func (c *Core) ResetReady(ctx context.Context, flowID string) (authflow.FlowView, error) {
	return c.auth.ResetReady(ctx, flowID, browser(ctx))
}

// CompleteReset sets the new password; every session of the account ends. It returns the
// authorization request the reset served.
func (c *Core) CompleteReset(ctx context.Context, lang, flowID, password, confirm string) (string, error) {
	return c.auth.CompleteReset(withLang(ctx, lang), flowID, browser(ctx), password, confirm)
}

// RecoveryCodes gives a new account its recovery codes.
func (c *Core) RecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	return c.auth.GenerateRecoveryCodes(ctx, userID)
}

// RenewRecoveryCodes gives the session's user a new set of recovery codes; it needs a recent
// sign-in (authflow.ErrStaleSignIn).
func (c *Core) RenewRecoveryCodes(ctx context.Context, s authflow.Session) ([]string, error) {
	if !c.recent(s) {
		return nil, authflow.ErrStaleSignIn
	}
	return c.auth.GenerateRecoveryCodes(ctx, s.UserID)
}

// ChangePassword changes the session's user's password; the other sessions end.
func (c *Core) ChangePassword(ctx context.Context, lang string, s authflow.Session, current, password, confirm string) error {
	err := c.auth.ChangePassword(withLang(ctx, lang), s.UserID, s.ID, current, password, confirm)
	if err == nil {
		c.cfg.Logger.InfoContext(ctx, "password changed on the account page", "user_id", s.UserID)
	}
	return err
}

// ChangeName saves the user's name, checked as at registration.
func (c *Core) ChangeName(ctx context.Context, userID, name string) error {
	_, err := c.auth.ChangeName(ctx, userID, name)
	return err
}
