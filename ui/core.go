package ui

import (
	"context"

	"github.com/otpidp/otpidp/provider/authflow"
)

// Core is what the pages need of the sign-in core (provider/signin satisfies it): every rule
// of a sign-in and every store access is behind it. Request-scoped values (the browser and
// session cookie hashes) travel in the request's reqinfo.Info, set by Browser.
type Core interface {
	SharedSecret(ctx context.Context, name string) ([]byte, error)

	Session(ctx context.Context) (authflow.Session, bool)
	StartSession(ctx context.Context, res authflow.Result, userAgent string) (authflow.NewSession, error)
	EndSession(ctx context.Context) error
	RotateBrowser(ctx context.Context, flowID string) (string, error)

	AuthRequest(ctx context.Context, id string) (authflow.AuthRequest, error)
	AuthRequestInfo(ctx context.Context, id string) (authflow.AuthRequest, bool)
	ResumeAuthRequest(ctx context.Context, id string) (authflow.Step, error)
	CompleteAuthRequest(ctx context.Context, id string, res authflow.Result) error
	CheckCallback(ctx context.Context, id string) error
	ConsentRequest(ctx context.Context, id string) (authflow.AuthRequest, error)
	Consent(ctx context.Context, id string, allow bool) error

	UserCode(typed string) (string, bool)
	DeviceRequest(ctx context.Context, typed string) (authflow.DeviceRequest, error)
	DecideDevice(ctx context.Context, typed string, approve bool) error

	Account(ctx context.Context, s authflow.Session) (authflow.Account, error)
	EndDevice(ctx context.Context, s authflow.Session, sessionID string) (bool, error)
	RemoveApp(ctx context.Context, s authflow.Session, clientID string) error
	RenewRecoveryCodes(ctx context.Context, s authflow.Session) ([]string, error)
	RecoveryCodes(ctx context.Context, userID string) ([]string, error)
	ChangePassword(ctx context.Context, lang string, s authflow.Session, current, password, confirm string) error
	ChangeName(ctx context.Context, userID, name string) error

	ResetNeedsRecoveryCode() bool
	Flow(ctx context.Context, id string, kinds ...authflow.FlowKind) (authflow.FlowView, error)
	StartLogin(ctx context.Context, lang, phoneInput, password, authRequestID string) (authflow.FlowView, error)
	StartRegistration(ctx context.Context, lang, name, phoneInput, password, authRequestID string) (authflow.FlowView, error)
	VerifyCode(ctx context.Context, flowID, code string) (authflow.FlowView, authflow.Result, error)
	VerifyRecoveryCode(ctx context.Context, flowID, recoveryCode string) (authflow.FlowView, authflow.Result, error)
	Resend(ctx context.Context, lang, flowID string) (authflow.FlowView, error)
	StartReset(ctx context.Context, lang, phoneInput, authRequestID string) (authflow.FlowView, error)
	VerifyReset(ctx context.Context, flowID, code, recoveryCode string) (authflow.FlowView, error)
	ResetReady(ctx context.Context, flowID string) (authflow.FlowView, error)
	CompleteReset(ctx context.Context, lang, flowID, password, confirm string) (string, error)
}
