package sms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
)

func TestTextsBuiltIn(t *testing.T) {
	texts, err := sms.NewTexts("otpidp", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		locale string
		ttl    time.Duration
		want   string
	}{
		{"", 5 * time.Minute, "Your otpidp code is 012345. It expires in 5 minutes.\n\n@idp.example.com #012345"},
		{"en-GB", time.Minute, "Your otpidp code is 012345. It expires in 1 minute.\n\n@idp.example.com #012345"},
		{"es", 5 * time.Minute, "Tu código de otpidp es 012345. Caduca en 5 minutos.\n\n@idp.example.com #012345"},
		{"es-MX", 90 * time.Second, "Tu código de otpidp es 012345. Caduca en 2 minutos.\n\n@idp.example.com #012345"},
		{"es-419", time.Minute, "Tu código de otpidp es 012345. Caduca en 1 minuto.\n\n@idp.example.com #012345"},
		{"fr-CA,es;q=0.8,en;q=0.5", 5 * time.Minute, "Tu código de otpidp es 012345. Caduca en 5 minutos.\n\n@idp.example.com #012345"},
		{"de", 5 * time.Minute, "Your otpidp code is 012345. It expires in 5 minutes.\n\n@idp.example.com #012345"},
		{"not a tag!", 5 * time.Minute, "Your otpidp code is 012345. It expires in 5 minutes.\n\n@idp.example.com #012345"},
	}
	for _, tt := range tests {
		if got := texts.Code(tt.locale, "012345", tt.ttl, "idp.example.com"); got != tt.want {
			t.Errorf("Code(%q, %v) = %q, want %q", tt.locale, tt.ttl, got, tt.want)
		}
	}
	if got := texts.ExistingAccount("es"); !strings.HasPrefix(got, "Alguien intentó crear una cuenta de otpidp") || strings.ContainsAny(got, "0123456789") {
		t.Errorf("ExistingAccount(es) = %q", got)
	}
	if got := texts.ExistingAccount("en"); !strings.HasPrefix(got, "Someone tried to create a otpidp account") {
		t.Errorf("ExistingAccount(en) = %q", got)
	}
	if got := sms.Languages(); strings.Join(got, ",") != "en,es" {
		t.Errorf("Languages = %v", got)
	}
}

func TestTextsTemplate(t *testing.T) {
	texts, err := sms.NewTexts("Acme", `{code} is your {product} code ({minutes} min).\nDo not share it.`)
	if err != nil {
		t.Fatal(err)
	}
	want := "654321 is your Acme code (5 min).\nDo not share it.\n\n@acme.example #654321"
	for _, locale := range []string{"", "es", "en"} {
		if got := texts.Code(locale, "654321", 5*time.Minute, "acme.example"); got != want {
			t.Errorf("Code(%q) = %q, want %q", locale, got, want)
		}
	}
	// A template cannot drop the origin-bound line: it is always last.
	texts, _ = sms.NewTexts("Acme", "Code: {code}")
	if got := texts.Code("", "000123", time.Minute, "h.example"); got != "Code: 000123\n\n@h.example #000123" {
		t.Errorf("Code = %q", got)
	}
}

func TestValidateTemplate(t *testing.T) {
	tests := []struct {
		template string
		want     []string // substrings of the error; nil: valid
	}{
		{"{code}", nil},
		{"Your {product} code: {code}, valid {minutes} minutes", nil},
		{"Your code", []string{"must contain {code}"}},
		{"{CODE}", []string{"must contain {code}", `unknown placeholder "{CODE}"`}},
		{"{code} {name}", []string{`unknown placeholder "{name}"`}},
		{"{code} {oops", []string{`unknown placeholder "{oops"`}},
		{"{code}\x07", []string{"control characters"}},
		{"{code}" + strings.Repeat("x", 300), []string{"at most 300"}},
	}
	for _, tt := range tests {
		err := sms.ValidateTemplate(tt.template)
		if tt.want == nil {
			if err != nil {
				t.Errorf("ValidateTemplate(%q): %v", tt.template, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidateTemplate(%q) accepted", tt.template)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ValidateTemplate(%q) = %v, want it to say %q", tt.template, err, w)
			}
		}
		if _, nerr := sms.NewTexts("x", tt.template); nerr == nil {
			t.Errorf("NewTexts accepted %q", tt.template)
		}
	}
}
