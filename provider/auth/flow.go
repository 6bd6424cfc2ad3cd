package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// deleteTimeout bounds the clean-up of a flow whose first SMS failed, which runs even when the
// request's context has ended.
const deleteTimeout = 5 * time.Second

// errNoBrowser refuses to start a flow that is bound to no browser: a caller's bug.
var errNoBrowser = errors.New("auth: a browser hash is required")

// StartLogin checks the phone number and password and, when they are right, sends a code to
// the user's stored, verified phone (OTP-08). Errors: ErrInvalidPhone when phoneInput is not a
// phone number; ErrInvalidCredentials for an unknown number, a wrong password, or a number
// whose attempts are being delayed after failures, all at the same cost (PH-05, BF-01);
// *LimitError (ErrRateLimited) when this client or everyone failed too often lately;
// ErrSMSFactorDisabled after too many wrong codes in a row, with the view of a flow that only a
// recovery code can finish (VerifyLoginRecovery; no text is sent). When the password is right
// but the code cannot be texted (an SMS limit, the operator's pause, the destination, the
// provider), the answer is no error and the view of a flow that sent no code (TextNotSent),
// which a recovery code finishes and a resend may text later: nobody is locked out by texts.
func (a *Authenticator) StartLogin(ctx context.Context, phoneInput, password, authRequestID string, browserHash []byte) (FlowView, error) {
	if len(browserHash) == 0 {
		return FlowView{}, errNoBrowser
	}
	e164, err := a.normalizePhone(phoneInput)
	if err != nil {
		return FlowView{}, err
	}
	if len(password) > MaxPasswordBytes {
		// No account has such a password; refusing it costs no hash (PW-02).
		a.log.InfoContext(ctx, "login refused", "reason", "password_too_long", "phone", phone.MaskForLog(e164))
		return FlowView{}, ErrInvalidCredentials
	}
	now := a.clock()
	user, err := a.loginPassword(ctx, e164, password, authRequestID, now)
	if err != nil {
		return FlowView{}, err
	}
	a.audit(ctx, EventPasswordOK, user.ID, e164, authRequestID, "")
	a.upgradeHash(ctx, user, password)
	if disabled, err := a.smsFactorDisabled(ctx, user.ID); err != nil {
		return FlowView{}, err
	} else if disabled {
		// The password is right: a flow that only a recovery code can finish, and no text.
		a.log.InfoContext(ctx, "login: SMS factor disabled, recovery code only", "user_id", user.ID)
		v, err := a.recoveryOnlyFlow(ctx, user, authRequestID, browserHash)
		if err != nil {
			return FlowView{}, err
		}
		return v, ErrSMSFactorDisabled
	}
	if err := a.allowSMS(ctx, smsSignIn, user.Phone); err != nil {
		if !textRefused(err) {
			return FlowView{}, err
		}
		return a.textlessLogin(ctx, user, authRequestID, browserHash, err)
	}
	v, err := a.sendLoginCode(ctx, user, authRequestID, browserHash, now)
	if err != nil && textRefused(err) {
		return a.textlessLogin(ctx, user, authRequestID, browserHash, err)
	}
	return v, err
}

// textRefused reports whether err says that a text was not sent (a limit, the operator's
// pause, the destination, the SMS provider) rather than that something broke.
func textRefused(err error) bool {
	for _, e := range []error{ErrRateLimited, ErrSMSPaused, ErrSMSUnavailable, ErrSMSUndeliverable, ErrInvalidPhone} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// textlessLogin starts the sign-in flow of a user whose password is right but whose code could
// not be texted (why): nobody is locked out by texts (SECURITY.md FRAUD-12). The flow has sent no code (SendCount 0,
// which its view reports as TextNotSent) and no code matches it; a recovery code finishes it
// (VerifyLoginRecovery), and a resend, once its wait is over, tries to text a code again.
func (a *Authenticator) textlessLogin(ctx context.Context, user storage.User, authRequestID string, browserHash []byte, why error) (FlowView, error) {
	id, err := a.newFlowID()
	if err != nil {
		return FlowView{}, err
	}
	hash, err := a.randomBytes(32)
	if err != nil {
		return FlowView{}, err
	}
	now := a.clock()
	f := a.loginFlow(id, authRequestID, user, browserHash, hash, now, 0)
	if err := a.store.CreateFlow(ctx, f); err != nil {
		return FlowView{}, fmt.Errorf("auth: create flow: %w", err)
	}
	a.log.InfoContext(ctx, "login: no text sent, recovery code offered", "user_id", user.ID,
		"phone", phone.MaskForLog(user.Phone), "flow_id", f.ID, "reason", redactPhone(why.Error(), user.Phone))
	return a.view(f), nil
}

// loginPassword checks the password step of a sign-in under the login limits and returns the
// user whose password it is (verified phone). Every refusal but the limits' is
// ErrInvalidCredentials, at the same cost.
func (a *Authenticator) loginPassword(ctx context.Context, e164, password, authRequestID string, now time.Time) (storage.User, error) {
	// Per-IP and overall failures: one unit is taken now and given back if the password is
	// right, so that concurrent attempts cannot overshoot the limit.
	limits := a.loginLimits(ctx)
	refusal, err := a.limiter.Take(ctx, now, limits...)
	if err != nil {
		return storage.User{}, fmt.Errorf("auth: login: count attempt: %w", err)
	}
	if refusal != nil {
		scope := loginScopes[refusal.Name]
		a.log.WarnContext(ctx, "login refused", "reason", scope, "phone", phone.MaskForLog(e164))
		a.audit(ctx, EventLoginRateLimited, "", e164, authRequestID, scope)
		return storage.User{}, &LimitError{Scope: scope, RetryAfter: refusal.RetryAfter}
	}
	user, err := a.verifyLoginPassword(ctx, e164, password, authRequestID, now)
	if err != nil {
		return user, err
	}
	if err := a.store.ResetFailures(ctx, "phone:"+e164, FactorPassword); err != nil {
		return user, fmt.Errorf("auth: login: reset failures: %w", err)
	}
	if err := a.limiter.Untake(ctx, now, limits...); err != nil {
		a.log.ErrorContext(ctx, "give back login attempt", "error", err)
	}
	if !user.PhoneVerified {
		a.log.InfoContext(ctx, "login refused", "reason", "phone_unverified", "user_id", user.ID, "phone", phone.MaskForLog(e164))
		return user, ErrInvalidCredentials
	}
	return user, nil
}

// verifyLoginPassword finds the number's account and checks its password; an unknown or
// throttled number costs the same hash (PH-05, BF-01).
func (a *Authenticator) verifyLoginPassword(ctx context.Context, e164, password, authRequestID string, now time.Time) (storage.User, error) {
	throttled, err := a.throttled(ctx, e164, now)
	if err != nil {
		return storage.User{}, fmt.Errorf("auth: login: %w", err)
	}
	user, err := a.store.GetUserByPhone(ctx, e164)
	known := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, fmt.Errorf("auth: login: get user: %w", err)
	}
	if throttled || !known {
		// Same work as for a known number and a wrong password: a full hash against the dummy,
		// and the same answer.
		if _, err := a.VerifyPassword(ctx, password, a.dummyHash); err != nil {
			return storage.User{}, fmt.Errorf("auth: login: %w", err)
		}
		reason, event := "unknown_phone", EventPasswordFailed
		if throttled {
			reason, event = "throttled", EventLoginThrottled
		} else {
			a.passwordFailed(ctx, e164, now)
		}
		a.log.InfoContext(ctx, "login refused", "reason", reason, "phone", phone.MaskForLog(e164))
		a.audit(ctx, event, "", e164, authRequestID, reason)
		return storage.User{}, ErrInvalidCredentials
	}
	ok, err := a.VerifyPassword(ctx, password, user.PasswordHash)
	if errors.Is(err, ErrMalformedHash) {
		a.log.ErrorContext(ctx, "login refused: stored password hash is malformed", "user_id", user.ID, "error", err)
		return storage.User{}, ErrInvalidCredentials
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("auth: login: %w", err)
	}
	if !ok {
		a.passwordFailed(ctx, e164, now)
		a.log.InfoContext(ctx, "login refused", "reason", "wrong_password", "user_id", user.ID, "phone", phone.MaskForLog(e164))
		a.audit(ctx, EventPasswordFailed, user.ID, e164, authRequestID, "wrong_password")
		return storage.User{}, ErrInvalidCredentials
	}
	if user.Disabled() {
		// Refused like a wrong password, after the same work, and no text is sent (ACC-01).
		// Not counted as a failure: the password was right.
		a.log.InfoContext(ctx, "login refused", "reason", "account_disabled", "user_id", user.ID, "phone", phone.MaskForLog(e164))
		a.audit(ctx, EventPasswordFailed, user.ID, e164, authRequestID, "account_disabled")
		return storage.User{}, ErrInvalidCredentials
	}
	return user, nil
}

// sendLoginCode starts the sign-in flow of user and texts its code.
func (a *Authenticator) sendLoginCode(ctx context.Context, user storage.User, authRequestID string, browserHash []byte, now time.Time) (FlowView, error) {
	id, err := a.newFlowID()
	if err != nil {
		return FlowView{}, err
	}
	code, hash, err := a.newCode(id)
	if err != nil {
		return FlowView{}, err
	}
	f := a.loginFlow(id, authRequestID, user, browserHash, hash, now, 1)
	if err := a.startFlow(ctx, f, a.codeText(ctx, code)); err != nil {
		return FlowView{}, err
	}
	a.audit(ctx, EventCodeSent, user.ID, f.Phone, authRequestID, "login")
	a.log.InfoContext(ctx, "login code sent", "user_id", user.ID, "phone", phone.MaskForLog(f.Phone), "flow_id", f.ID)
	return a.view(f), nil
}

// VerifyLogin checks the code of a login flow. Errors: ErrFlowNotFound, ErrInvalidCode (wrong,
// expired, used), ErrTooManyAttempts (the code is dead: resend).
func (a *Authenticator) VerifyLogin(ctx context.Context, flowID string, browserHash []byte, code string) (Result, error) {
	f, err := a.loadFlow(ctx, flowID, browserHash, storage.FlowLogin)
	if err != nil {
		return Result{}, err
	}
	if disabled, err := a.smsFactorDisabled(ctx, f.UserID); err != nil {
		return Result{}, err
	} else if disabled {
		return Result{}, ErrSMSFactorDisabled
	}
	now := a.clock()
	hash, err := a.checkCode(ctx, f, code, now)
	if err != nil {
		return Result{}, err
	}
	if _, err := a.store.ConsumeCode(ctx, f.ID, hash, a.cfg.MaxCodeAttempts, now); err != nil {
		return Result{}, a.consumeFailed(ctx, f.ID, err)
	}
	if err := a.store.ResetFailures(ctx, f.UserID, FactorSMS); err != nil {
		a.log.ErrorContext(ctx, "reset code failures", "error", err)
	}
	a.audit(ctx, EventCodeOK, f.UserID, f.Phone, f.AuthRequestID, "login")
	a.log.InfoContext(ctx, "login verified", "user_id", f.UserID, "flow_id", f.ID)
	return Result{UserID: f.UserID, AuthTime: now, AMR: amrPasswordSMS(), AuthRequestID: f.AuthRequestID}, nil
}

// StartRegistration validates a new account (name, mobile number, password policy), hashes the
// password and sends a code to the number. A number that already has an account gets the very
// same answer (REG-01) but an informational SMS instead of a code, and its flow accepts no
// code. The SMS limits are checked after the fields and before the password is hashed, and
// apply alike to free and taken numbers. With an outbox (WithOutbox) the text is queued and
// sent after the answer. Errors: *FieldError, ErrInvalidPhone (ErrPhoneNotMobile for a number
// that cannot receive SMS, ErrSMSCountryNotAllowed for a country codes are not sent to),
// *LimitError, ErrSMSPaused; without an outbox also ErrSMSUndeliverable, ErrSMSUnavailable.
func (a *Authenticator) StartRegistration(ctx context.Context, name, phoneInput, password, authRequestID string, browserHash []byte) (FlowView, error) {
	if len(browserHash) == 0 {
		return FlowView{}, errNoBrowser
	}
	name, e164, err := a.checkAccount(name, phoneInput, password)
	if err != nil {
		return FlowView{}, err
	}
	if err := a.allowSMS(ctx, smsRegistration, e164); err != nil {
		return FlowView{}, err
	}
	hash, err := a.HashPassword(ctx, password)
	if err != nil {
		return FlowView{}, err
	}
	existing, err := a.store.GetUserByPhone(ctx, e164)
	taken := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return FlowView{}, fmt.Errorf("auth: register: get user: %w", err)
	}
	id, err := a.newFlowID()
	if err != nil {
		return FlowView{}, err
	}
	codeHash, text, err := a.registrationMessage(ctx, id, taken)
	if err != nil {
		return FlowView{}, err
	}
	now := a.clock()
	f := storage.Flow{
		ID:            id,
		Kind:          storage.FlowRegister,
		AuthRequestID: authRequestID,
		Phone:         e164,
		Name:          name,
		PasswordHash:  hash,
		BrowserHash:   bytes.Clone(browserHash),
		CodeHash:      codeHash,
		CodeExpiresAt: now.Add(a.cfg.CodeTTL),
		CodeSentAt:    now,
		SendCount:     1,
		CreatedAt:     now,
		ExpiresAt:     now.Add(a.cfg.FlowTTL),
	}
	if err := a.startFlow(ctx, f, text); err != nil {
		return FlowView{}, err
	}
	a.audit(ctx, EventCodeSent, "", e164, authRequestID, "registration")
	if taken {
		a.log.InfoContext(ctx, "registration for a registered number: notice sent", "user_id", existing.ID, "phone", phone.MaskForLog(e164), "flow_id", f.ID)
	} else {
		a.log.InfoContext(ctx, "registration code sent", "phone", phone.MaskForLog(e164), "flow_id", f.ID)
	}
	return a.view(f), nil
}

// VerifyRegistration checks the code of a registration flow and, when it is right, creates the
// user with a verified phone, in one transaction with spending the code. Errors as VerifyLogin;
// a number registered meanwhile is ErrInvalidCode.
func (a *Authenticator) VerifyRegistration(ctx context.Context, flowID string, browserHash []byte, code string) (Result, error) {
	f, err := a.loadFlow(ctx, flowID, browserHash, storage.FlowRegister)
	if err != nil {
		return Result{}, err
	}
	now := a.clock()
	hash, err := a.checkCode(ctx, f, code, now)
	if err != nil {
		return Result{}, err
	}
	userID, err := a.newUserID()
	if err != nil {
		return Result{}, err
	}
	u := storage.User{
		ID:            userID,
		Phone:         f.Phone,
		PhoneVerified: true,
		Name:          f.Name,
		PasswordHash:  f.PasswordHash,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	err = a.store.CompleteRegistration(ctx, f.ID, hash, a.cfg.MaxCodeAttempts, now, u)
	if errors.Is(err, storage.ErrAlreadyExists) {
		a.log.InfoContext(ctx, "registration refused: number registered meanwhile", "phone", phone.MaskForLog(f.Phone), "flow_id", f.ID)
		return Result{}, ErrInvalidCode
	}
	if err != nil {
		return Result{}, a.consumeFailed(ctx, f.ID, err)
	}
	a.audit(ctx, EventUserRegistered, u.ID, u.Phone, f.AuthRequestID, "")
	a.log.InfoContext(ctx, "user registered", "user_id", u.ID, "phone", phone.MaskForLog(u.Phone), "flow_id", f.ID)
	return Result{UserID: u.ID, AuthTime: now, AMR: amrPasswordSMS(), AuthRequestID: f.AuthRequestID}, nil
}

// Resend sends a new code for the flow, which kills the previous one (OTP-05). Errors:
// ErrFlowNotFound, *TooSoonError before the flow's ResendAt, ErrSMSFactorDisabled (a login
// whose account's SMS factor is disabled), ErrSMSUndeliverable and
// ErrSMSUnavailable (the new code is stored all the same; try again after the interval).
func (a *Authenticator) Resend(ctx context.Context, flowID string, browserHash []byte) (FlowView, error) {
	f, err := a.loadFlow(ctx, flowID, browserHash, "")
	if err != nil {
		return FlowView{}, err
	}
	if !f.CodeUsedAt.IsZero() {
		return FlowView{}, ErrFlowNotFound
	}
	now := a.clock()
	if wait := f.CodeSentAt.Add(a.resendWait(f.SendCount)).Sub(now); wait > 0 {
		return FlowView{}, &TooSoonError{RetryAfter: wait}
	}
	kind := smsSignIn
	if f.Kind == storage.FlowRegister || f.Kind == storage.FlowReset {
		kind = smsRegistration
	}
	if f.Kind == storage.FlowLogin {
		if disabled, err := a.smsFactorDisabled(ctx, f.UserID); err != nil {
			return FlowView{}, err
		} else if disabled {
			return FlowView{}, ErrSMSFactorDisabled
		}
	}
	if err := a.allowSMS(ctx, kind, f.Phone); err != nil {
		return FlowView{}, err
	}

	var (
		hash  []byte
		text  string
		event string
	)
	switch f.Kind {
	case storage.FlowLogin:
		var code string
		code, hash, err = a.newCode(f.ID)
		text, event = a.codeText(ctx, code), "login code resent"
	case storage.FlowRegister:
		_, gerr := a.store.GetUserByPhone(ctx, f.Phone)
		if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
			return FlowView{}, fmt.Errorf("auth: resend: get user: %w", gerr)
		}
		hash, text, err = a.registrationMessage(ctx, f.ID, gerr == nil)
		event = "registration code resent"
	case storage.FlowReset:
		hash, text, err = a.resetMessage(ctx, f.ID, f.UserID != "")
		event = "reset code resent"
	default:
		return FlowView{}, fmt.Errorf("auth: resend: flow kind %q", f.Kind)
	}
	if err != nil {
		return FlowView{}, err
	}

	expires := now.Add(a.cfg.CodeTTL)
	if err := a.store.ReplaceCode(ctx, f.ID, f.CodeSentAt, hash, expires, now); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return FlowView{}, ErrFlowNotFound
		}
		if !errors.Is(err, storage.ErrConflict) {
			return FlowView{}, fmt.Errorf("auth: resend: replace code: %w", err)
		}
		// Someone resent or finished the flow meanwhile.
		cur, gerr := a.store.GetFlow(ctx, f.ID)
		if gerr != nil || !cur.CodeUsedAt.IsZero() {
			return FlowView{}, ErrFlowNotFound
		}
		return FlowView{}, &TooSoonError{RetryAfter: max(cur.CodeSentAt.Add(a.resendWait(cur.SendCount)).Sub(now), time.Second)}
	}
	f.CodeHash, f.CodeExpiresAt, f.CodeSentAt, f.CodeAttempts = hash, expires, now, 0
	f.SendCount++
	if f.Kind == storage.FlowLogin {
		err = a.send(ctx, f, text)
	} else {
		err = a.dispatch(ctx, f, text)
	}
	if err != nil {
		return FlowView{}, err
	}
	a.audit(ctx, EventCodeSent, f.UserID, f.Phone, f.AuthRequestID, "resend")
	a.log.InfoContext(ctx, event, "user_id", f.UserID, "phone", phone.MaskForLog(f.Phone), "flow_id", f.ID, "send_count", f.SendCount)
	return a.view(f), nil
}

// Flow returns the view of a flow in progress started by this browser; ErrFlowNotFound when
// it is unknown, expired, finished or another browser's.
func (a *Authenticator) Flow(ctx context.Context, flowID string, browserHash []byte) (FlowView, error) {
	f, err := a.loadFlow(ctx, flowID, browserHash, "")
	if err != nil {
		return FlowView{}, err
	}
	if !f.CodeUsedAt.IsZero() {
		return FlowView{}, ErrFlowNotFound
	}
	return a.view(f), nil
}

// CreateUser creates a user for an operator: the phone counts as verified, and the name, phone
// and password are validated as in StartRegistration. A number that has an account already is
// an error wrapping storage.ErrAlreadyExists.
func (a *Authenticator) CreateUser(ctx context.Context, phoneInput, name, password string) (storage.User, error) {
	name, e164, hash, err := a.newAccount(ctx, name, phoneInput, password)
	if err != nil {
		return storage.User{}, err
	}
	id, err := a.newUserID()
	if err != nil {
		return storage.User{}, err
	}
	now := a.clock()
	u := storage.User{
		ID:            id,
		Phone:         e164,
		PhoneVerified: true,
		Name:          name,
		PasswordHash:  hash,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := a.store.CreateUser(ctx, u); err != nil {
		return storage.User{}, fmt.Errorf("auth: create user: %w", err)
	}
	a.log.InfoContext(ctx, "user created by operator", "user_id", u.ID, "phone", phone.MaskForLog(u.Phone))
	return u, nil
}

// newAccount validates a new account's fields, in the order a form shows them, and hashes the
// password. Nothing is hashed unless every field passes.
func (a *Authenticator) newAccount(ctx context.Context, name, phoneInput, password string) (cleanName, e164, hash string, err error) {
	if cleanName, e164, err = a.checkAccount(name, phoneInput, password); err != nil {
		return "", "", "", err
	}
	if hash, err = a.HashPassword(ctx, password); err != nil {
		return "", "", "", err
	}
	return cleanName, e164, hash, nil
}

// checkAccount validates a new account's fields, in the order a form shows them.
// Every field is checked, so that a page can show all of its errors at once: the error joins
// (errors.Join) one error per refused field, in the form's order (errors.As finds the first).
func (a *Authenticator) checkAccount(name, phoneInput, password string) (cleanName, e164 string, err error) {
	var errs []error
	cleanName, nameErr := checkName(name)
	if nameErr != nil {
		errs = append(errs, nameErr)
	}
	e164, phoneErr := a.normalizePhone(phoneInput)
	if phoneErr == nil && !phone.IsMobileCapable(e164) {
		phoneErr = ErrPhoneNotMobile
	}
	if phoneErr != nil {
		errs, e164 = append(errs, phoneErr), ""
	}
	if err := a.CheckPassword(password, cleanName, e164); err != nil {
		errs = append(errs, err)
	}
	switch len(errs) {
	case 0:
		return cleanName, e164, nil
	case 1:
		return "", "", errs[0]
	}
	return "", "", errors.Join(errs...)
}

// normalizePhone turns the typed number into E.164; an error wraps ErrInvalidPhone.
func (a *Authenticator) normalizePhone(input string) (string, error) {
	e164, err := phone.Normalize(input, a.cfg.DefaultRegion)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	return e164, nil
}

// newCode draws a code for the flow and returns it with its keyed hash.
func (a *Authenticator) newCode(flowID string) (string, []byte, error) {
	code, err := generateCode(a.rand)
	if err != nil {
		return "", nil, err
	}
	return code, codeHash(a.hmacKey, flowID, code), nil
}

// registrationMessage returns the code hash and the SMS of a registration flow: a real code,
// or, when the number has an account already, the notice and a random hash that no code
// matches.
func (a *Authenticator) registrationMessage(ctx context.Context, flowID string, taken bool) ([]byte, string, error) {
	if taken {
		hash, err := a.randomBytes(32)
		if err != nil {
			return nil, "", err
		}
		return hash, a.existingAccountText(ctx), nil
	}
	code, hash, err := a.newCode(flowID)
	if err != nil {
		return nil, "", err
	}
	return hash, a.codeText(ctx, code), nil
}

// startFlow stores a new flow, then sends its first message: a sign-in's at once, a reset's or
// registration's through the outbox when there is one (dispatch); if the message cannot be
// sent (or queued) the flow is deleted.
func (a *Authenticator) startFlow(ctx context.Context, f storage.Flow, text string) error {
	if err := a.store.CreateFlow(ctx, f); err != nil {
		return fmt.Errorf("auth: create flow: %w", err)
	}
	send := a.dispatch
	if f.Kind == storage.FlowLogin {
		send = a.send
	}
	if err := send(ctx, f, text); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		if derr := a.store.DeleteFlow(dctx, f.ID); derr != nil && !errors.Is(derr, storage.ErrNotFound) {
			a.log.ErrorContext(ctx, "delete flow after failed SMS", "flow_id", f.ID, "error", derr)
		}
		return err
	}
	return nil
}

// send sends text to the flow's phone, mapping the sender's failure to ErrSMSUndeliverable or
// ErrSMSUnavailable (the sender's error stays in the chain).
func (a *Authenticator) send(ctx context.Context, f storage.Flow, text string) error {
	err := a.deliver(ctx, f, sms.Message{To: f.Phone, Body: text, ValidFor: a.cfg.CodeTTL, Key: messageKey(f), Locale: Language(ctx)})
	if err == nil {
		return nil
	}
	kind, class := ErrSMSUnavailable, "unavailable"
	if errors.Is(err, sms.ErrUndeliverable) {
		kind, class = ErrSMSUndeliverable, "undeliverable"
	}
	a.log.WarnContext(ctx, "SMS not sent", "flow_id", f.ID, "phone", phone.MaskForLog(f.Phone),
		"class", class, "error", redactPhone(err.Error(), f.Phone))
	return fmt.Errorf("%w: %w", kind, err)
}

// loadFlow returns the live flow of that kind (any kind when kind is empty) started by the
// browser whose hash is given; ErrFlowNotFound otherwise.
func (a *Authenticator) loadFlow(ctx context.Context, id string, browserHash []byte, kind storage.FlowKind) (storage.Flow, error) {
	if id == "" || len(id) > maxFlowIDLen {
		return storage.Flow{}, ErrFlowNotFound
	}
	f, err := a.store.GetFlow(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Flow{}, ErrFlowNotFound
	}
	if err != nil {
		return storage.Flow{}, fmt.Errorf("auth: get flow: %w", err)
	}
	if subtle.ConstantTimeCompare(f.BrowserHash, browserHash) != 1 {
		a.log.InfoContext(ctx, "flow refused: another browser", "flow_id", f.ID)
		return storage.Flow{}, ErrFlowNotFound
	}
	if (kind != "" && f.Kind != kind) || !a.clock().Before(f.ExpiresAt) {
		return storage.Flow{}, ErrFlowNotFound
	}
	return f, nil
}

// checkCode compares the typed code with the flow's current one. On a match it returns the
// code's hash for the caller to consume; otherwise it counts a wrong try (a malformed code is
// one too) and returns ErrInvalidCode or ErrTooManyAttempts.
func (a *Authenticator) checkCode(ctx context.Context, f storage.Flow, code string, now time.Time) ([]byte, error) {
	switch {
	case !f.CodeUsedAt.IsZero():
		return nil, ErrInvalidCode
	case f.CodeAttempts >= a.cfg.MaxCodeAttempts:
		return nil, ErrTooManyAttempts
	case !now.Before(f.CodeExpiresAt):
		return nil, ErrInvalidCode
	}
	if normalized, ok := NormalizeCode(code); ok {
		if a.verifier != nil {
			matched, err := a.verifyCode(ctx, f, normalized)
			if err != nil {
				return nil, err
			}
			if matched {
				return f.CodeHash, nil
			}
		} else if hash := codeHash(a.hmacKey, f.ID, normalized); subtle.ConstantTimeCompare(hash, f.CodeHash) == 1 {
			return hash, nil
		}
	}
	n, err := a.store.RecordWrongCode(ctx, f.ID, f.CodeHash, a.cfg.MaxCodeAttempts)
	if errors.Is(err, storage.ErrConflict) {
		return nil, a.codeState(ctx, f.ID)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrFlowNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: record wrong code: %w", err)
	}
	a.log.InfoContext(ctx, "wrong code", "flow_id", f.ID, "attempts", n)
	a.audit(ctx, EventCodeFailed, f.UserID, f.Phone, f.AuthRequestID, fmt.Sprintf("attempt %d", n))
	a.codeFailed(ctx, f, now)
	if n >= a.cfg.MaxCodeAttempts {
		return nil, ErrTooManyAttempts
	}
	return nil, ErrInvalidCode
}

// consumeFailed maps the failure of ConsumeCode or CompleteRegistration.
func (a *Authenticator) consumeFailed(ctx context.Context, flowID string, err error) error {
	switch {
	case errors.Is(err, storage.ErrConflict):
		return a.codeState(ctx, flowID)
	case errors.Is(err, storage.ErrNotFound):
		return ErrFlowNotFound
	}
	return fmt.Errorf("auth: consume code: %w", err)
}

// codeState says why a conditional update on the flow's code matched nothing: the code is dead
// from wrong tries (ErrTooManyAttempts), or it was used, replaced or has expired
// (ErrInvalidCode).
func (a *Authenticator) codeState(ctx context.Context, flowID string) error {
	f, err := a.store.GetFlow(ctx, flowID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrFlowNotFound
	}
	if err != nil {
		return fmt.Errorf("auth: get flow: %w", err)
	}
	if f.CodeUsedAt.IsZero() && f.CodeAttempts >= a.cfg.MaxCodeAttempts {
		return ErrTooManyAttempts
	}
	return ErrInvalidCode
}

func (a *Authenticator) view(f storage.Flow) FlowView {
	return FlowView{
		ID:            f.ID,
		Kind:          authflow.FlowKind(f.Kind),
		MaskedPhone:   phone.Mask(f.Phone),
		AuthRequestID: f.AuthRequestID,
		ResendAt:      f.CodeSentAt.Add(a.resendWait(f.SendCount)),
		ExpiresAt:     f.ExpiresAt,
		TextNotSent:   f.SendCount == 0,
	}
}

// redactPhone removes a full phone number (with or without its +) from text meant for logs.
func redactPhone(text, e164 string) string {
	if e164 == "" {
		return text
	}
	masked := phone.MaskForLog(e164)
	text = strings.ReplaceAll(text, e164, masked)
	return strings.ReplaceAll(text, strings.TrimPrefix(e164, "+"), masked)
}

// loginFlow is a new sign-in flow of user at the code step, its code (hash) valid for CodeTTL
// from now, sent sendCount times so far.
func (a *Authenticator) loginFlow(id, authRequestID string, user storage.User, browserHash, hash []byte, now time.Time, sendCount int) storage.Flow {
	return storage.Flow{
		ID:            id,
		Kind:          storage.FlowLogin,
		AuthRequestID: authRequestID,
		UserID:        user.ID,
		Phone:         user.Phone,
		BrowserHash:   bytes.Clone(browserHash),
		CodeHash:      hash,
		CodeExpiresAt: now.Add(a.cfg.CodeTTL),
		CodeSentAt:    now,
		SendCount:     sendCount,
		CreatedAt:     now,
		ExpiresAt:     now.Add(a.cfg.FlowTTL),
	}
}
