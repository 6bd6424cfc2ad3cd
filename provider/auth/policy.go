package auth

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// MaxNameLength is the longest full name accepted, in code points.
const MaxNameLength = 100

// maxNameBytes bounds the raw name before it is looked at any closer.
const maxNameBytes = 16 * MaxNameLength

// minPhoneDigitsInPassword: a password containing the phone's national number is refused only
// when that number has at least this many digits, so that short numbers do not forbid common
// digit runs.
const minPhoneDigitsInPassword = 6

// Fields named in a FieldError.
const (
	FieldName     = "name"
	FieldPassword = "password"
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
)

// FieldError refuses one field of a registration, an operator-created user or a password
// change, and says why (PW-04: the reason is stated).
type FieldError struct {
	Field  string // FieldName or FieldPassword
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
	case FieldPassword + "/" + string(ReasonCommon):
		return "This is one of the most common passwords, which attackers try first. Choose something less predictable: a few unrelated words make a long password that is easy to remember."
	}
	return "This value cannot be used."
}

// CheckPassword applies the password policy used by registration, password change and reset
// (REG-06): at most MaxPasswordBytes of input, then, after NFKC normalization, between
// MinPasswordLength and MaxPasswordLength code points, and not (ignoring case and spaces) the
// product name, the user's name or phone number, nor containing the phone's national number,
// nor (ignoring case and spaces) one of the common passwords of the embedded blocklist.
// There are no composition rules (PW-03). name and phoneE164 may be empty. It returns a
// *FieldError.
func (a *Authenticator) CheckPassword(password, name, phoneE164 string) error {
	refuse := func(r Reason) error { return &FieldError{Field: FieldPassword, Reason: r} }
	if len(password) > MaxPasswordBytes {
		return refuse(ReasonTooLong)
	}
	if password == "" {
		return refuse(ReasonRequired)
	}
	if !utf8.ValidString(password) {
		return refuse(ReasonInvalidEncoding)
	}
	p := normalizePassword(password)
	switch n := utf8.RuneCountInString(p); {
	case n < MinPasswordLength:
		return refuse(ReasonTooShort)
	case n > MaxPasswordLength:
		return refuse(ReasonTooLong)
	}
	folded := withoutSpaces(p)
	if isCommonPassword(p) {
		return refuse(ReasonCommon)
	}
	if strings.EqualFold(folded, withoutSpaces(normalizePassword(a.cfg.ProductName))) {
		return refuse(ReasonIsProductName)
	}
	if name != "" && strings.EqualFold(folded, withoutSpaces(normalizePassword(name))) {
		return refuse(ReasonIsName)
	}
	if phoneE164 != "" {
		all, national := phoneDigits(phoneE164)
		digits := withoutPhonePunctuation(folded)
		if digits == all || (national != "" && digits == national) {
			return refuse(ReasonIsPhone)
		}
		if len(national) >= minPhoneDigitsInPassword && strings.Contains(digits, national) {
			return refuse(ReasonContainsPhone)
		}
	}
	return nil
}

// checkName validates a full name and returns it trimmed and NFC-normalized.
func checkName(name string) (string, error) {
	refuse := func(r Reason) (string, error) { return "", &FieldError{Field: FieldName, Reason: r} }
	if len(name) > maxNameBytes {
		return refuse(ReasonTooLong)
	}
	if !utf8.ValidString(name) {
		return refuse(ReasonInvalidEncoding)
	}
	name = norm.NFC.String(strings.TrimSpace(name))
	if name == "" {
		return refuse(ReasonRequired)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return refuse(ReasonControlCharacters)
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return refuse(ReasonTooLong)
	}
	return name, nil
}

func withoutSpaces(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// withoutPhonePunctuation drops what people put between the digits of a phone number.
func withoutPhonePunctuation(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '+', '-', '.', '(', ')', '/':
			return -1
		}
		return r
	}, s)
}

// phoneDigits returns the digits of an E.164 number (country code included) and its national
// significant number (empty when the number does not parse).
func phoneDigits(e164 string) (all, national string) {
	all = strings.TrimPrefix(e164, "+")
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return all, ""
	}
	return all, phonenumbers.GetNationalSignificantNumber(num)
}
