package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
)

// TestLogsHoldNoSecrets runs every path that logs and checks the captured log for codes,
// passwords, names and full phone numbers (OTP-07, LOG-02).
func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var codes []string
	secrets := []string{testPassword, testName, testPhone, "4155552671", "4155552672", "Grace Hopper", "another good passphrase"}

	e.addUser(t)
	_, _ = e.a.StartLogin(ctx, testPhone, "wrong "+testPassword, "", browser("a"))
	secrets = append(secrets, "wrong "+testPassword)
	_, _ = e.a.StartLogin(ctx, "+14155552672", testPassword, "", browser("a"))
	v, code := e.login(t)
	codes = append(codes, code)
	_, _ = e.a.VerifyLogin(ctx, v.ID, browser("a"), "999999x")
	_, _ = e.a.VerifyLogin(ctx, v.ID, browser("b"), code)
	e.clock.Advance(30 * time.Second)
	if _, err := e.a.Resend(ctx, v.ID, browser("a")); err != nil {
		t.Fatal(err)
	}
	codes = append(codes, e.sms.lastCode(t))
	if _, err := e.a.VerifyLogin(ctx, v.ID, browser("a"), e.sms.lastCode(t)); err != nil {
		t.Fatal(err)
	}

	rv, err := e.a.StartRegistration(ctx, "Grace Hopper", "+14155552672", "another good passphrase", "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	codes = append(codes, e.sms.lastCode(t))
	if _, err := e.a.VerifyRegistration(ctx, rv.ID, browser("a"), e.sms.lastCode(t)); err != nil {
		t.Fatal(err)
	}
	_, _ = e.a.StartRegistration(ctx, "Grace Hopper", testPhone, "another good passphrase", "", browser("a"))

	// A sender whose error repeats the number: the log must not.
	e.sms.fail(fmt.Errorf("twilio: %s (%s) is not reachable: %w", testPhone, testPhone[1:], sms.ErrUndeliverable))
	_, _ = e.a.StartLogin(ctx, testPhone, testPassword, "", browser("a"))

	logs := e.logs.String()
	for _, event := range []string{"login code sent", "login refused", "wrong code", "login verified", "registration code sent", "user registered", "SMS not sent", phone.MaskForLog(testPhone)} {
		if !strings.Contains(logs, event) {
			t.Errorf("log lacks %q", event)
		}
	}
	for _, s := range append(secrets, codes...) {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q", s)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}
