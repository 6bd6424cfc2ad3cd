package authflow

import "time"

// FlowKind says what a flow in progress is for (the same values as the store's).
type FlowKind string

// Kinds of flows.
const (
	FlowLogin    FlowKind = "login"
	FlowRegister FlowKind = "register"
	FlowReset    FlowKind = "reset"
)

// FlowView is what the pages may show about a flow in progress.
type FlowView struct {
	ID            string
	Kind          FlowKind
	MaskedPhone   string // phone.Mask of where the code went: "+1 ••• ••• 4567"
	AuthRequestID string
	ResendAt      time.Time // a new code may be asked for from then on
	ExpiresAt     time.Time // the flow ends then
	// TextNotSent: no code was texted for this sign-in (an SMS limit, the operator's pause, the
	// provider's failure); the page says so and offers the recovery code.
	TextNotSent bool
}

// Result is a completed sign-in (or registration, which signs the new user in).
type Result struct {
	UserID        string
	AuthTime      time.Time
	AMR           []string // RFC 8176: ["pwd", "sms", "mfa"]
	AuthRequestID string
}
