package authflow

import (
	"crypto/sha256"
	"time"
)

// HashToken is the SHA-256 of a cookie value (the browser binding, the session): the store
// and the request's context only ever hold this hash.
func HashToken(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// Session is a browser's signed-in session.
type Session struct {
	ID       string
	UserID   string
	AuthTime time.Time
	AMR      []string
}

// NewSession is a session just started: its cookie value (shown to the browser only) and how
// long the cookie lives.
type NewSession struct {
	Session
	Token  string
	MaxAge time.Duration
}

// AuthRequest is what the pages show of an authorization request.
type AuthRequest struct {
	ID         string
	ClientID   string
	ClientName string // empty when the client is unknown
	UILocales  []string
	LoginHint  string
	Scopes     []string
}

// Step is what an authorization request needs next. One function of the sign-in core decides
// it (prompt, max_age, id_token_hint, consent).
type Step int

// Steps of an authorization request.
const (
	// StepSignIn: show the sign-in page.
	StepSignIn Step = iota
	// StepContinue: the request was completed (by the browser's session); go to the callback.
	StepContinue
	// StepLoginRequired: prompt=none (or an id_token_hint of another user) and no sign-in may
	// happen: answer login_required.
	StepLoginRequired
	// StepConsent: ask the user for consent.
	StepConsent
	// StepConsentRequired: consent is needed but prompt=none: answer consent_required.
	StepConsentRequired
	// StepAccessDenied: the user did not allow access.
	StepAccessDenied
	// StepIssueCode: answer the client with an authorization code.
	StepIssueCode
)

// DeviceRequest is a device authorization (RFC 8628) found by its user code.
type DeviceRequest struct {
	UserCode   string // normalized, without the dash
	ClientName string
	Scopes     []string
}

// Account is what the account page shows of the signed-in user.
type Account struct {
	Name        string
	Phone       string // E.164: the sign-in again page (reauthentication) fills it in for its owner
	MaskedPhone string
	CodesLeft   int
	Devices     []Device // newest first
	Apps        []App
}

// Device is one signed-in session of the user.
type Device struct {
	ID         string
	UserAgent  string
	LastSeenAt time.Time
	Current    bool // the session of this request
}

// App is a client holding tokens of the user.
type App struct {
	ClientID string
	Name     string // the client's name, or its ID when unknown
	Since    time.Time
}
