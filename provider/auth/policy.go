package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// maxNameBytes bounds the raw name before it is looked at any closer.
const maxNameBytes = 16 * MaxNameLength

// minPhoneDigitsInPassword: a password containing the phone's national number is refused only
// when that number has at least this many digits, so that short numbers do not forbid common
// digit runs.
const minPhoneDigitsInPassword = 6

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
