package sms_test

import (
	"errors"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
)

const testVerifyService = "VA0123456789abcdef0123456789abcdef"

func newVerify(t *testing.T, fake *twiliotest.Server, edit ...func(*sms.TwilioConfig)) *sms.TwilioVerify {
	t.Helper()
	cfg := sms.TwilioConfig{AccountSID: testAccount, APIKey: testKey, APISecret: testSecret, VerifyServiceSID: testVerifyService, APIURL: fake.URL()}
	fake.AddAPIKey(testKey, testAccount)
	for _, e := range edit {
		e(&cfg)
	}
	v, err := sms.NewTwilioVerify(cfg)
	if err != nil {
		t.Fatalf("NewTwilioVerify: %v", err)
	}
	return v
}

func wrongOf(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestVerifyStartAndCheck(t *testing.T) {
	fake := twiliotest.New(t)
	journal := openJournal(t)
	v := newVerify(t, fake, func(c *sms.TwilioConfig) { c.Journal = journal })

	m := sms.Message{To: testTo, Key: "flow/1", Locale: "es-MX", Body: "never sent"}
	if err := v.Start(t.Context(), m); err != nil {
		t.Fatalf("Start: %v", err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].VerifyServiceSid != testVerifyService || msgs[0].Locale != "es" || msgs[0].User != testKey {
		t.Fatalf("fake recorded %+v; want one Verify SMS in es, through the API key", msgs)
	}
	code, _ := fake.LastCode(testTo)

	rec, err := journal.GetSMSMessage(t.Context(), sms.JournalKey(m.Key))
	if err != nil || rec.Provider != "twilio-verify" || rec.SID != msgs[0].SID || rec.Status != "pending" {
		t.Fatalf("journal = %+v, %v", rec, err)
	}
	if err := v.Start(t.Context(), m); !errors.Is(err, sms.ErrAlreadySent) {
		t.Fatalf("Start with the same key: %v, want ErrAlreadySent", err)
	}

	ok, err := v.Check(t.Context(), testTo, wrongOf(code))
	if err != nil || ok {
		t.Fatalf("Check wrong code = %v, %v; want false, nil", ok, err)
	}
	ok, err = v.Check(t.Context(), testTo, code)
	if err != nil || !ok {
		t.Fatalf("Check right code = %v, %v; want true, nil", ok, err)
	}
	// Approved is spent: Verify answers 20404.
	_, err = v.Check(t.Context(), testTo, code)
	if !errors.Is(err, sms.ErrNoVerification) || errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("Check after approval: %v, want ErrNoVerification", err)
	}
	assertSafe(t, err.Error())
	if n := fake.Requests(); n != 4 {
		t.Fatalf("the fake saw %d requests, want 4 (one start, three checks)", n)
	}
}

func TestVerifyCheckLimit(t *testing.T) {
	fake := twiliotest.New(t)
	v := newVerify(t, fake)
	if err := v.Start(t.Context(), sms.Message{To: testTo}); err != nil {
		t.Fatal(err)
	}
	code, _ := fake.LastCode(testTo)
	for range 5 {
		if ok, err := v.Check(t.Context(), testTo, wrongOf(code)); ok || err != nil {
			t.Fatalf("wrong check: %v %v", ok, err)
		}
	}
	before := fake.Requests()
	_, err := v.Check(t.Context(), testTo, code)
	if !errors.Is(err, sms.ErrCheckLimit) || errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("sixth check: %v, want ErrCheckLimit", err)
	}
	if n := fake.Requests() - before; n != 1 {
		t.Fatalf("the 60202 answer (HTTP 429) was retried: %d requests, want 1", n)
	}
}

func TestVerifyFailures(t *testing.T) {
	tests := []struct {
		name     string
		next     []twiliotest.Failure
		check    bool // fail the check rather than the start
		want     error
		requests int
	}{
		{"start: invalid number", []twiliotest.Failure{twiliotest.InvalidNumber}, false, sms.ErrUndeliverable, 1},
		{"start: throttled once", []twiliotest.Failure{twiliotest.TooManyRequests}, false, nil, 2},
		{"start: server error", []twiliotest.Failure{twiliotest.ServerError}, false, sms.ErrUnavailable, 1},
		{"start: timeout", []twiliotest.Failure{twiliotest.Hang}, false, sms.ErrUnavailable, 1},
		{"check: server error", []twiliotest.Failure{twiliotest.ServerError}, true, sms.ErrUnavailable, 2},
		{"check: timeout", []twiliotest.Failure{twiliotest.Hang}, true, sms.ErrUnavailable, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			v := newVerify(t, fake, func(c *sms.TwilioConfig) { c.Timeout = 200 * time.Millisecond })
			var err error
			if tt.check {
				if err := v.Start(t.Context(), sms.Message{To: testTo}); err != nil {
					t.Fatal(err)
				}
				code, _ := fake.LastCode(testTo)
				for _, f := range tt.next {
					fake.FailNext(f)
				}
				var ok bool
				ok, err = v.Check(t.Context(), testTo, code)
				if ok {
					t.Fatal("a failed check approved")
				}
			} else {
				for _, f := range tt.next {
					fake.FailNext(f)
				}
				err = v.Start(t.Context(), sms.Message{To: testTo})
			}
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				assertSafe(t, err.Error())
			}
			if n := fake.Requests(); n != tt.requests {
				t.Fatalf("the fake saw %d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestVerifyRefusesTexts(t *testing.T) {
	fake := twiliotest.New(t)
	v := newVerify(t, fake)
	if err := v.Send(t.Context(), sms.Message{To: testTo, Body: "hello"}); err == nil {
		t.Fatal("Verify sent an arbitrary text")
	}
	if fake.Requests() != 0 {
		t.Fatal("a refused text reached Twilio")
	}
}

func TestVerifyConfig(t *testing.T) {
	base := sms.TwilioConfig{AccountSID: testAccount, AuthToken: testToken, VerifyServiceSID: testVerifyService}
	if _, err := sms.NewTwilioVerify(base); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, edit := range map[string]func(*sms.TwilioConfig){
		"no service":        func(c *sms.TwilioConfig) { c.VerifyServiceSID = "" },
		"malformed service": func(c *sms.TwilioConfig) { c.VerifyServiceSID = "MG123" },
		"service and from":  func(c *sms.TwilioConfig) { c.From = testFrom },
	} {
		cfg := base
		edit(&cfg)
		if _, err := sms.NewTwilioVerify(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := sms.NewTwilio(base); err == nil {
		t.Error("NewTwilio accepted a Verify configuration")
	}
}
