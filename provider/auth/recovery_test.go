package auth

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeRecoveryCode(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"7KQ2-M9XD-4TRB-HC3W", "7KQ2M9XD4TRBHC3W", true},
		{"7kq2 m9xd 4trb hc3w", "7KQ2M9XD4TRBHC3W", true},
		{" 7KQ2M9XD4TRBHC3W\t", "7KQ2M9XD4TRBHC3W", true},
		{"OOOO-IIII-LLLL-0000", "0000111111110000", true}, // look-alikes
		{"7KQ2-M9XD-4TRB-HC3", "", false},                 // 15 characters
		{"7KQ2-M9XD-4TRB-HC3WX", "", false},               // 17
		{"7KQ2-M9XD-4TRB-HC3U", "", false},                // U is not in the alphabet
		{"7KQ2-M9XD-4TRB-HC3É", "", false},
		{"", "", false},
		{strings.Repeat("A", 65), "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeRecoveryCode(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

var recoveryCodeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

func TestGenerateRecoveryCodes(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t)
	codes, err := e.a.GenerateRecoveryCodes(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodeCount || RecoveryCodeCount != 10 {
		t.Fatalf("got %d codes, want 10", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryCodeRE.MatchString(c) {
			t.Errorf("code %q is not 16 base32 characters in groups of 4 (80 bits)", c)
		}
		if seen[c] {
			t.Errorf("code %q appears twice", c)
		}
		seen[c] = true
	}
	if n, _ := e.a.RecoveryCodesLeft(t.Context(), u.ID); n != 10 {
		t.Fatalf("RecoveryCodesLeft = %d, want 10", n)
	}
	// The store holds keyed hashes bound to the user: the plain code, its SHA-256 or the other
	// user's hash of it is spent nowhere.
	for _, h := range [][]byte{[]byte(codes[0]), e.a.recoveryHash("someone-else", strings.ReplaceAll(codes[0], "-", ""))} {
		if err := e.store.ConsumeRecoveryCode(t.Context(), u.ID, h, e.clock.Now()); err == nil {
			t.Fatalf("the store accepted %x as a recovery code", h)
		}
	}
	if _, err := e.a.GenerateRecoveryCodes(t.Context(), ""); err == nil {
		t.Fatal("recovery codes for no user were generated")
	}

	// Regenerating replaces every old code.
	again, err := e.a.GenerateRecoveryCodes(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(again, func(c string) bool { return seen[c] }) {
		t.Fatal("a regenerated set repeats an old code")
	}
	v, _ := e.login(t)
	if _, err := e.a.VerifyLoginRecovery(t.Context(), v.ID, browser("a"), codes[1]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("an old code after regeneration: err = %v, want ErrInvalidCode", err)
	}
	if _, err := e.a.VerifyLoginRecovery(t.Context(), v.ID, browser("a"), again[1]); err != nil {
		t.Fatalf("a new code after regeneration: %v", err)
	}
}

func TestVerifyLoginRecovery(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t)
	codes, err := e.a.GenerateRecoveryCodes(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, smsCode := e.login(t)
	if _, err := e.a.VerifyLoginRecovery(t.Context(), v.ID, browser("b"), codes[0]); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("another browser: err = %v, want ErrFlowNotFound", err)
	}
	// Typed in lower case with spaces: accepted.
	res, err := e.a.VerifyLoginRecovery(t.Context(), v.ID, browser("a"), strings.ToLower(strings.ReplaceAll(codes[0], "-", " ")))
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != u.ID || res.AuthRequestID != "ar-1" {
		t.Fatalf("result = %+v", res)
	}
	if d := cmp.Diff([]string{"pwd", "otp", "mfa"}, res.AMR); d != "" {
		t.Fatalf("AMR (-want +got):\n%s", d)
	}
	if n, _ := e.a.RecoveryCodesLeft(t.Context(), u.ID); n != 9 {
		t.Fatalf("RecoveryCodesLeft = %d, want 9", n)
	}
	// The flow is over: neither its SMS code nor another recovery code signs in again.
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), smsCode); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("SMS code after a recovery sign-in: err = %v, want ErrFlowNotFound", err)
	}
	// A spent code is refused in the next sign-in, and counts as a wrong try.
	v2, _ := e.login(t)
	if _, err := e.a.VerifyLoginRecovery(t.Context(), v2.ID, browser("a"), codes[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("spent code: err = %v, want ErrInvalidCode", err)
	}
	if n := e.flow(t, v2.ID).CodeAttempts; n != 1 {
		t.Fatalf("CodeAttempts = %d, want 1", n)
	}
	// Four more wrong tries kill the flow's second step, even for a right code.
	for i, want := range []error{ErrInvalidCode, ErrInvalidCode, ErrInvalidCode, ErrTooManyAttempts, ErrTooManyAttempts} {
		code := "0000-0000-0000-000" + string(rune('0'+i))
		if i == 4 {
			code = codes[2]
		}
		if _, err := e.a.VerifyLoginRecovery(t.Context(), v2.ID, browser("a"), code); !errors.Is(err, want) {
			t.Fatalf("try %d: err = %v, want %v", i+2, err, want)
		}
	}
	if n, _ := e.a.RecoveryCodesLeft(t.Context(), u.ID); n != 9 {
		t.Fatalf("RecoveryCodesLeft = %d after refused tries, want 9", n)
	}
}

func TestRecoveryCodeOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t)
	other, err := e.a.CreateUser(t.Context(), "+14155550100", "Grace Hopper", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.GenerateRecoveryCodes(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	otherCodes, err := e.a.GenerateRecoveryCodes(t.Context(), other.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := e.login(t)
	if _, err := e.a.VerifyLoginRecovery(t.Context(), v.ID, browser("a"), otherCodes[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("another user's code: err = %v, want ErrInvalidCode", err)
	}
}
