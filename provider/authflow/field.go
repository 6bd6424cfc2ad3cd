package authflow

import "fmt"

// Input bounds (PW-01, PW-02, REG-04). Password lengths count Unicode code points after NFKC
// normalization.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
	// MaxPasswordBytes caps the raw input before anything else is done with it, hashing least
	// of all: longer input is refused outright.
	MaxPasswordBytes = 4096
	// MaxNameLength is the longest full name accepted, in code points.
	MaxNameLength = 100
)

// Fields named in a FieldError.
const (
	FieldName            = "name"
	FieldPassword        = "password"
	FieldPasswordConfirm = "password_confirm"
	FieldCurrentPassword = "current_password"
)

// Reason says why a field was refused. Pages choose their message by it; Message gives an
// English one.
type Reason string

// Reasons for refusing a name or a password.
const (
	ReasonRequired          Reason = "required"
	ReasonTooShort          Reason = "too_short"
	ReasonTooLong           Reason = "too_long"
	ReasonInvalidEncoding   Reason = "invalid_encoding"
	ReasonControlCharacters Reason = "control_characters"
	ReasonIsProductName     Reason = "is_product_name" // password equals the service's name
	ReasonIsName            Reason = "is_name"         // password equals the user's name
	ReasonIsPhone           Reason = "is_phone"        // password is the phone number
	ReasonContainsPhone     Reason = "contains_phone"  // password contains the phone number
	ReasonCommon            Reason = "common"          // password is on the common-password blocklist
	// ReasonMismatch: the two passwords typed differ.
	ReasonMismatch Reason = "mismatch"
	// ReasonWrongCurrent: the current password given to a password change is wrong.
	ReasonWrongCurrent Reason = "wrong_current"
	// ReasonThrottled: too many wrong passwords; the sign-in limits make the user wait.
	ReasonThrottled Reason = "throttled"
)

// FieldError refuses one field of a registration, an operator-created user or a password
// change, and says why (PW-04: the reason is stated).
type FieldError struct {
	Field  string // FieldName, FieldPassword, FieldPasswordConfirm or FieldCurrentPassword
	Reason Reason
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("auth: invalid %s: %s", e.Field, e.Reason)
}

// Message is an English sentence for the user that states the reason.
func (e *FieldError) Message() string {
	switch e.Field + "/" + string(e.Reason) {
	case FieldName + "/" + string(ReasonRequired):
		return "Enter your full name."
	case FieldName + "/" + string(ReasonTooLong):
		return fmt.Sprintf("Your name can have at most %d characters.", MaxNameLength)
	case FieldName + "/" + string(ReasonControlCharacters), FieldName + "/" + string(ReasonInvalidEncoding):
		return "Your name contains characters that cannot be used."
	case FieldPassword + "/" + string(ReasonRequired):
		return "Enter a password."
	case FieldPassword + "/" + string(ReasonTooShort):
		return fmt.Sprintf("Use at least %d characters for your password. A few unrelated words make a long password that is easy to remember.", MinPasswordLength)
	case FieldPassword + "/" + string(ReasonTooLong):
		return fmt.Sprintf("Your password can have at most %d characters.", MaxPasswordLength)
	case FieldPassword + "/" + string(ReasonInvalidEncoding):
		return "Your password contains characters that cannot be used."
	case FieldPassword + "/" + string(ReasonIsProductName):
		return "Your password cannot be the name of this service: it is the first thing an attacker tries."
	case FieldPassword + "/" + string(ReasonIsName):
		return "Your password cannot be your name: it is easy to guess."
	case FieldPassword + "/" + string(ReasonIsPhone), FieldPassword + "/" + string(ReasonContainsPhone):
		return "Your password cannot contain your phone number: it is easy to guess."
	case FieldCurrentPassword + "/" + string(ReasonThrottled):
		return "Too many wrong passwords. Wait a few minutes, then try again."
	case FieldPassword + "/" + string(ReasonCommon):
		return "This is one of the most common passwords, which attackers try first. Choose something less predictable: a few unrelated words make a long password that is easy to remember."
	}
	return "This value cannot be used."
}
