package sms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Placeholders of a code message template (OTPIDP_SMS_TEMPLATE).
const (
	PlaceholderCode    = "{code}"    // the six-digit code; required
	PlaceholderProduct = "{product}" // the product name
	PlaceholderMinutes = "{minutes}" // the code's lifetime in whole minutes, rounded up
)

// maxTemplateLen bounds a template, in characters: a code SMS must stay short.
const maxTemplateLen = 300

// Texts writes the messages otpidp sends, in the user's language. English and Spanish are
// built in; the code message may instead come from an operator's template, used for every
// language. Every code message ends with the origin-bound line "@host #code" (WICG
// origin-bound one-time codes; SECURITY OTP-12), which a template cannot change. No message
// holds personal data. Texts is immutable and safe for concurrent use.
type Texts struct {
	product  string
	template string // "" for the built-in texts
}

// language texts, in the order of the matcher's tags.
type catalog struct {
	code     func(product, code string, minutes int) string
	existing func(product string) string
	changed  func(product string) string
	noAcct   func(product string) string
}

var (
	languages = []language.Tag{language.English, language.Spanish}
	matcher   = language.NewMatcher(languages)
	catalogs  = []catalog{
		{
			code: func(product, code string, minutes int) string {
				return fmt.Sprintf("Your %s code is %s. It expires in %d %s.", product, code, minutes, plural(minutes, "minute", "minutes"))
			},
			existing: func(product string) string {
				return fmt.Sprintf("Someone tried to create a %s account with this number. You already have one: sign in, or reset your password.", product)
			},
			changed: func(product string) string {
				return fmt.Sprintf("Your %s password was changed. If this wasn't you, reset your password now and contact support.", product)
			},
			noAcct: func(product string) string {
				return fmt.Sprintf("Someone asked to reset a %s password for this number, but no account uses it. If it was you, create an account instead; if not, ignore this message.", product)
			},
		},
		{
			code: func(product, code string, minutes int) string {
				return fmt.Sprintf("Tu código de %s es %s. Caduca en %d %s.", product, code, minutes, plural(minutes, "minuto", "minutos"))
			},
			existing: func(product string) string {
				return fmt.Sprintf("Alguien intentó crear una cuenta de %s con este número. Ya tienes una: inicia sesión o restablece tu contraseña.", product)
			},
			changed: func(product string) string {
				return fmt.Sprintf("Se cambió la contraseña de tu cuenta de %s. Si no fuiste tú, restablece tu contraseña ahora y contacta con soporte.", product)
			},
			noAcct: func(product string) string {
				return fmt.Sprintf("Alguien pidió restablecer una contraseña de %s para este número, pero ninguna cuenta lo usa. Si fuiste tú, crea una cuenta; si no, ignora este mensaje.", product)
			},
		},
	}
)

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Languages lists the languages the built-in texts are written in, as BCP 47 tags.
func Languages() []string {
	l := make([]string, len(languages))
	for i, t := range languages {
		l[i] = t.String()
	}
	return l
}

// NewTexts returns the texts for a product name. template, when not empty, replaces the
// built-in code message (see ValidateTemplate).
func NewTexts(product, template string) (*Texts, error) {
	if product == "" {
		return nil, errors.New("sms: texts: the product name is required")
	}
	if template != "" {
		if err := ValidateTemplate(template); err != nil {
			return nil, err
		}
	}
	return &Texts{product: product, template: unescapeNewlines(template)}, nil
}

// ValidateTemplate checks an operator's code message template: it must contain {code}, may
// contain {product} and {minutes} and no other {…} placeholder, at most 300 characters, and no
// control characters; the two characters \n stand for a line break.
func ValidateTemplate(template string) error {
	t := unescapeNewlines(template)
	var problems []string
	if !strings.Contains(t, PlaceholderCode) {
		problems = append(problems, "must contain "+PlaceholderCode)
	}
	if n := utf8.RuneCountInString(t); n > maxTemplateLen {
		problems = append(problems, fmt.Sprintf("is %d characters long, at most %d are allowed", n, maxTemplateLen))
	}
	if !utf8.ValidString(t) || strings.ContainsFunc(t, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
		problems = append(problems, "must not contain control characters (write \\n for a line break)")
	}
	rest := t
	for _, p := range []string{PlaceholderCode, PlaceholderProduct, PlaceholderMinutes} {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if i := strings.IndexByte(rest, '{'); i >= 0 {
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			end = min(len(rest)-i, 20)
		} else {
			end++
		}
		problems = append(problems, fmt.Sprintf("has an unknown placeholder %q (use %s, %s, %s)", rest[i:i+end], PlaceholderCode, PlaceholderProduct, PlaceholderMinutes))
	}
	if len(problems) > 0 {
		return fmt.Errorf("sms: template %s", strings.Join(problems, "; "))
	}
	return nil
}

func unescapeNewlines(s string) string { return strings.ReplaceAll(s, `\n`, "\n") }

// pick returns the catalog for a BCP 47 tag (or an Accept-Language value); English when
// nothing matches.
func pick(locale string) catalog {
	tags, _, err := language.ParseAcceptLanguage(locale)
	if err != nil || len(tags) == 0 {
		return catalogs[0]
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return catalogs[0]
	}
	return catalogs[i]
}

// Code is the message carrying a code that lives for ttl, in locale's language: the
// template's or built-in text, a blank line, and "@host #code".
func (t *Texts) Code(locale, code string, ttl time.Duration, host string) string {
	minutes := int((ttl + time.Minute - 1) / time.Minute)
	var text string
	if t.template != "" {
		text = strings.NewReplacer(PlaceholderCode, code, PlaceholderProduct, t.product,
			PlaceholderMinutes, strconv.Itoa(minutes)).Replace(t.template)
	} else {
		text = pick(locale).code(t.product, code, minutes)
	}
	return text + "\n\n@" + host + " #" + code
}

// ExistingAccount is the notice sent instead of a code when someone registers a number that
// has an account already (SECURITY REG-01), in locale's language.
func (t *Texts) ExistingAccount(locale string) string {
	return pick(locale).existing(t.product)
}

// NoAccount is the notice sent instead of a code when someone asks to reset the password of a
// number that has no account (SECURITY RST-01), in locale's language.
func (t *Texts) NoAccount(locale string) string {
	return pick(locale).noAcct(t.product)
}

// PasswordChanged is the notice sent to the account's phone after its password was reset or
// changed (SECURITY RST-08), in locale's language.
func (t *Texts) PasswordChanged(locale string) string {
	return pick(locale).changed(t.product)
}
