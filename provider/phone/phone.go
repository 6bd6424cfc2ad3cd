// Package phone normalizes, classifies and masks phone numbers with libphonenumber
// (github.com/nyaruka/phonenumbers).
//
// Every number otpidp stores, counts, rate-limits or sends to is first put in E.164 form by
// Normalize, so "+49 176 671 11 638", "+49-176-671-11-638" and "+4917667111638" are one
// number (SECURITY REG-03). Mask and MaskForLog hide most digits for pages and logs (LOG-02);
// IsMobileCapable, CountryCode and Region feed the fraud checks (FRAUD-01, FRAUD-02).
package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxInputLen is the longest input, in bytes, that Normalize parses. Longer input is refused
// before libphonenumber sees it.
const MaxInputLen = 64

// ErrInvalid is wrapped by every error Normalize returns. The wrapped messages never repeat the
// input, so they are safe to show to the person who typed it.
var ErrInvalid = errors.New("invalid phone number")

// bullet hides one digit (or, in MaskForLog, a run of digits).
const bullet = "•"

// Normalize parses a phone number typed by a person and returns it in E.164 form
// ("+14155552671"). defaultRegion (an ISO 3166-1 alpha-2 code such as "US"; case does not
// matter) is used when the input has no leading "+" country code; it may be "" when every
// input is international.
//
// The input may contain digits, one leading "+", and spaces, dots, dashes, slashes and
// parentheses as separators. An international prefix "00" is understood even where the
// region's own prefix differs ("00 44 7911 123456" with region "US"). Empty input, input
// longer than MaxInputLen bytes, letters (including vanity numbers such as 1-800-FLOWERS),
// other characters, and numbers that libphonenumber does not consider valid are refused with
// an error wrapping ErrInvalid.
func Normalize(input, defaultRegion string) (string, error) {
	if len(input) > MaxInputLen {
		return "", fmt.Errorf("%w: too long", ErrInvalid)
	}
	s := strings.TrimSpace(input)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	digits, plus, err := checkChars(s)
	if err != nil {
		return "", err
	}
	if digits == "" {
		return "", fmt.Errorf("%w: no digits", ErrInvalid)
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))

	num, err := phonenumbers.Parse(s, region)
	if (err != nil || !phonenumbers.IsValidNumber(num)) && !plus && strings.HasPrefix(digits, "00") {
		// "00" is the international prefix in most of the world; accept it even when the
		// default region dials out with another prefix (011 in North America).
		num, err = phonenumbers.Parse("+"+digits[2:], phonenumbers.UNKNOWN_REGION)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalid, parseProblem(err))
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w: not a valid number", ErrInvalid)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// checkChars returns the digits of s and whether it starts with "+" (possibly after "("), or an
// error if s holds a character other than ASCII digits, separators, and that one "+".
func checkChars(s string) (digits string, plus bool, err error) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && strings.Trim(s[:i], "(") == "":
			plus = true
		case r == ' ', r == '.', r == '-', r == '(', r == ')', r == '/':
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			return "", false, fmt.Errorf("%w: letters are not allowed", ErrInvalid)
		case r == '+':
			return "", false, fmt.Errorf("%w: \"+\" is only allowed at the start", ErrInvalid)
		default:
			return "", false, fmt.Errorf("%w: use only digits, spaces, dots, dashes and parentheses", ErrInvalid)
		}
	}
	return b.String(), plus, nil
}

// parseProblem turns a libphonenumbers parse error into a short phrase that never contains the
// input.
func parseProblem(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "missing or unknown country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not a phone number"
	}
}

// parse reads an E.164 number (as returned by Normalize). It does not check validity.
func parse(e164 string) (*phonenumbers.PhoneNumber, bool) {
	if len(e164) > MaxInputLen || !strings.HasPrefix(e164, "+") {
		return nil, false
	}
	num, err := phonenumbers.Parse(e164, phonenumbers.UNKNOWN_REGION)
	if err != nil || num.GetCountryCode() == 0 {
		return nil, false
	}
	return num, true
}

// Mask hides all but the country code and the last digits of an E.164 number, keeping the
// number's usual grouping, for showing on pages: "+14155552671" becomes "+1 ••• ••• 2671" and
// "+447911123456" becomes "+44 •••• ••3456". At most 4 digits, and never more than half of the
// national number, are shown. Mask never panics; input that is not an E.164 number gives only
// bullets and at most its last 4 digits.
func Mask(e164 string) string {
	num, ok := parse(e164)
	if !ok {
		return maskUnparsed(e164, 4, "•••••• ")
	}
	cc := strconv.Itoa(int(num.GetCountryCode()))
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	show := min(4, len(nsn)/2)

	prefix := "+" + cc + " "
	grouped, ok := strings.CutPrefix(phonenumbers.Format(num, phonenumbers.INTERNATIONAL), prefix)
	if !ok || onlyDigits(grouped) != nsn {
		grouped = nsn
	}
	hide := len(nsn) - show
	var b strings.Builder
	b.WriteString(prefix)
	seen := 0
	for _, r := range grouped {
		if r < '0' || r > '9' {
			b.WriteByte(' ')
			continue
		}
		if seen < hide {
			b.WriteString(bullet)
		} else {
			b.WriteRune(r)
		}
		seen++
	}
	return b.String()
}

// MaskForLog hides an E.164 number for logs (SECURITY LOG-02): the country code, seven bullets
// whatever the length, and the last 2 digits: "+14155552671" becomes "+1•••••••71". Fewer
// digits are shown for very short numbers. MaskForLog never panics; input that is not an E.164
// number gives bullets and at most its last 2 digits.
func MaskForLog(e164 string) string {
	num, ok := parse(e164)
	if !ok {
		return maskUnparsed(e164, 2, "•••••••")
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	show := min(2, len(nsn)/3)
	return "+" + strconv.Itoa(int(num.GetCountryCode())) + "•••••••" + nsn[len(nsn)-show:]
}

// maskUnparsed shows at most the last show digits of s, and only when s has at least three
// times as many digits.
func maskUnparsed(s string, show int, bullets string) string {
	if len(s) > MaxInputLen {
		s = s[len(s)-MaxInputLen:]
	}
	digits := onlyDigits(s)
	show = min(show, len(digits)/3)
	return strings.TrimSpace(bullets + digits[len(digits)-show:])
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// IsMobileCapable reports whether an E.164 number is valid and of a type that can receive SMS:
// MOBILE, FIXED_LINE_OR_MOBILE (libphonenumber cannot tell them apart in North America and
// elsewhere) or UNKNOWN. It is false for invalid numbers and for FIXED_LINE, PREMIUM_RATE,
// SHARED_COST, TOLL_FREE, VOIP, PERSONAL_NUMBER, PAGER, UAN and VOICEMAIL (SECURITY FRAUD-02).
func IsMobileCapable(e164 string) bool {
	num, ok := parse(e164)
	if !ok || !phonenumbers.IsValidNumber(num) {
		return false
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.UNKNOWN:
		return true
	default:
		return false
	}
}

// CountryCode returns the country calling code of an E.164 number (1 for "+14155552671"), or 0
// when the input cannot be parsed.
func CountryCode(e164 string) int {
	num, ok := parse(e164)
	if !ok {
		return 0
	}
	return int(num.GetCountryCode())
}

// Region returns the ISO 3166-1 alpha-2 region of an E.164 number ("US", "CA", "DE"), "001" for
// non-geographic numbering plans (+800, +882, ...), or "" when it cannot be determined.
func Region(e164 string) string {
	num, ok := parse(e164)
	if !ok {
		return ""
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if region == phonenumbers.UNKNOWN_REGION {
		return ""
	}
	return region
}
