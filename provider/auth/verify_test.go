package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
	"github.com/otpidp/otpidp/storage"
)

// The tests in this file drive the real twilio-go client (sms.Twilio, sms.TwilioVerify)
// against the fake Twilio, with the journal on the test's store.

const (
	testAccount       = "AC0123456789abcdef0123456789abcdef"
	testAuthToken     = "T0kenSecretValue0123456789abcdef"
	testVerifyService = "VA0123456789abcdef0123456789abcdef"
	testSender        = "+14155550100"
)

// withTwilio replaces the env's sender with a Messages API sender on the fake.
func withTwilio(t *testing.T, e *env, edit ...func(*sms.TwilioConfig)) *twiliotest.Server {
	t.Helper()
	fake := twiliotest.New(t)
	cfg := sms.TwilioConfig{AccountSID: testAccount, AuthToken: testAuthToken, From: testSender, APIURL: fake.URL(),
		Timeout: 300 * time.Millisecond, Journal: e.store, Now: e.clock.Now}
	for _, f := range edit {
		f(&cfg)
	}
	s, err := sms.NewTwilio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.a.sender = s
	scanLogs(t, e, fake)
	return fake
}

// withVerify makes Twilio Verify (on the fake) make and check the env's codes.
func withVerify(t *testing.T, e *env) *twiliotest.Server {
	t.Helper()
	fake := twiliotest.New(t)
	v, err := sms.NewTwilioVerify(sms.TwilioConfig{AccountSID: testAccount, AuthToken: testAuthToken,
		VerifyServiceSID: testVerifyService, APIURL: fake.URL(), Timeout: 300 * time.Millisecond, Journal: e.store, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	WithCodeVerifier(v)(e.a)
	scanLogs(t, e, fake)
	return fake
}

// scanLogs checks, when the test ends, that the log holds no code the fake Twilio delivered,
// no Twilio credential and no full phone number (OTP-07, LOG-02, FRAUD-09).
func scanLogs(t *testing.T, e *env, fake *twiliotest.Server) {
	t.Cleanup(func() {
		logs := e.logs.String()
		secrets := []string{testAuthToken, testPhone, strings.TrimPrefix(testPhone, "+")}
		for _, m := range fake.Messages() {
			secrets = append(secrets, m.Body)
			if i := strings.LastIndexAny(m.Body, "#: "); i >= 0 && len(m.Body)-i-1 == 6 {
				secrets = append(secrets, m.Body[i+1:])
			}
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the log contains a secret %.12q…", s)
			}
		}
	})
}

func fakeCode(t *testing.T, fake *twiliotest.Server) string {
	t.Helper()
	code, ok := fake.LastCode(testPhone)
	if !ok {
		t.Fatal("the fake Twilio sent no code")
	}
	return code
}

func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestVerifyModeLogin(t *testing.T) {
	e := newEnv(t)
	fake := withVerify(t, e)
	u := e.addUser(t)

	ctx := WithLanguage(t.Context(), "es-MX")
	v, err := e.a.StartLogin(ctx, testNational, testPassword, "ar-1", browser("a"))
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].VerifyServiceSid != testVerifyService || msgs[0].Locale != "es" {
		t.Fatalf("Twilio got %+v; want one Verify SMS in Spanish", msgs)
	}
	if e.sms.count() != 0 {
		t.Fatal("otpidp sent a code of its own in Verify mode")
	}
	rec, err := e.store.GetSMSMessage(t.Context(), sms.JournalKey(v.ID+"/1"))
	if err != nil || rec.Provider != "twilio-verify" || rec.SID != msgs[0].SID {
		t.Fatalf("journal: %+v, %v", rec, err)
	}
	code := fakeCode(t, fake)

	// A wrong code is counted by otpidp too.
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), otherCode(code)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if n := e.flow(t, v.ID).CodeAttempts; n != 1 {
		t.Fatalf("CodeAttempts = %d, want 1", n)
	}
	// The browser binding stands in front: another browser never reaches Verify.
	before := fake.Requests()
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("b"), code); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("another browser: %v", err)
	}
	if fake.Requests() != before {
		t.Fatal("a refused browser reached Twilio")
	}

	res, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code)
	if err != nil {
		t.Fatalf("right code: %v", err)
	}
	if res.UserID != u.ID {
		t.Fatalf("Result = %+v", res)
	}
	// Spent: otpidp refuses it without asking Twilio.
	before = fake.Requests()
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("code reused: %v", err)
	}
	if fake.Requests() != before {
		t.Fatal("a spent flow reached Twilio")
	}
}

func TestVerifyModeLimits(t *testing.T) {
	t.Run("otpidp's limit stands in front", func(t *testing.T) {
		e := newEnv(t)
		fake := withVerify(t, e)
		e.addUser(t)
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		code := fakeCode(t, fake)
		for range 5 {
			_, _ = e.a.VerifyLogin(t.Context(), v.ID, browser("a"), otherCode(code))
		}
		before := fake.Requests()
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("sixth try: %v, want ErrTooManyAttempts", err)
		}
		if fake.Requests() != before {
			t.Fatal("the sixth try reached Twilio")
		}
		// The resend interval stands in front too.
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err == nil {
			t.Fatal("resend before the interval was allowed")
		}
		if fake.Requests() != before {
			t.Fatal("a refused resend reached Twilio")
		}
		e.clock.Advance(30 * time.Second)
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), fakeCode(t, fake)); err != nil {
			t.Fatalf("code of the resend: %v", err)
		}
	})

	t.Run("Verify's max attempts (60202) is otpidp's too many attempts", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.MaxCodeAttempts = 10 })
		fake := withVerify(t, e)
		e.addUser(t)
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		code := fakeCode(t, fake)
		for i := range 5 {
			if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), otherCode(code)); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("wrong try %d: %v", i+1, err)
			}
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("after Verify's limit: %v, want ErrTooManyAttempts", err)
		}
	})

	t.Run("Verify's not found (20404) is an invalid code", func(t *testing.T) {
		e := newEnv(t)
		fake := withVerify(t, e)
		e.addUser(t)
		a, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		code := fakeCode(t, fake)
		// Verify keys codes by number: a second sign-in of the same user gets the same code,
		// and spending it there leaves the first flow with none pending at Twilio.
		b, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("b"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), b.ID, browser("b"), fakeCode(t, fake)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), a.ID, browser("a"), code); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("code with none pending at Twilio: %v, want ErrInvalidCode", err)
		}
		if n := e.flow(t, a.ID).CodeAttempts; n != 1 {
			t.Fatalf("CodeAttempts = %d, want 1", n)
		}
	})
}

func TestVerifyModeFailures(t *testing.T) {
	t.Run("start: landline", func(t *testing.T) {
		e := newEnv(t)
		fake := withVerify(t, e)
		e.addUser(t)
		fake.FailNext(twiliotest.Landline)
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil || !v.TextNotSent {
			t.Fatalf("StartLogin: %+v, %v; want the code step without a text", v, err)
		}
		// No code was sent for this flow: none is checked at Twilio (a pending one of another
		// flow must not be spent here).
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), "123456"); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("a code for the textless flow: %v", err)
		}
		if fake.Requests() != 1 {
			t.Fatalf("the fake saw %d requests, want 1", fake.Requests())
		}
	})
	t.Run("check: outage counts nothing", func(t *testing.T) {
		e := newEnv(t)
		fake := withVerify(t, e)
		e.addUser(t)
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		code := fakeCode(t, fake)
		for _, f := range []twiliotest.Failure{twiliotest.ServerError, twiliotest.Hang} {
			fake.FailNext(f)
			before := fake.Requests()
			if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrSMSUnavailable) {
				t.Fatalf("%v: %v, want ErrSMSUnavailable", f, err)
			}
			if n := fake.Requests() - before; n != 1 {
				t.Fatalf("%v: %d requests, want exactly 1 (no retry)", f, n)
			}
		}
		if n := e.flow(t, v.ID).CodeAttempts; n != 0 {
			t.Fatalf("Twilio's failures counted %d wrong tries", n)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	})
}

func TestVerifyModeRegistration(t *testing.T) {
	e := newEnv(t)
	fake := withVerify(t, e)
	v, err := e.a.StartRegistration(t.Context(), testName, testPhone, testPassword, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.VerifyRegistration(t.Context(), v.ID, browser("a"), fakeCode(t, fake)); err != nil {
		t.Fatalf("VerifyRegistration: %v", err)
	}

	// The number has an account now: a registration gets the same answer and the same
	// requests at Twilio (a verification is started, the code is checked), but no code
	// completes it, not even the right one.
	before := fake.Requests()
	taken, err := e.a.StartRegistration(t.Context(), "Someone Else", testPhone, "another good passphrase", "", browser("b"))
	if err != nil {
		t.Fatalf("StartRegistration of a taken number: %v", err)
	}
	if taken.MaskedPhone != phone.Mask(testPhone) {
		t.Fatalf("view = %+v", taken)
	}
	if fake.Requests() != before+1 || e.sms.count() != 0 {
		t.Fatalf("a registration of a taken number made %d requests at Twilio and %d at the sender; want 1 and 0, as a free number's", fake.Requests()-before, e.sms.count())
	}
	if _, err := e.a.VerifyRegistration(t.Context(), taken.ID, browser("b"), "000000"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a wrong code for a taken number: %v", err)
	}
	// Whoever proves the number (the right code) learns that it has an account; no account
	// is made.
	if _, err := e.a.VerifyRegistration(t.Context(), taken.ID, browser("b"), fakeCode(t, fake)); !errors.Is(err, ErrPhoneRegistered) {
		t.Fatalf("the right code for a taken number: %v, want ErrPhoneRegistered", err)
	}
	if u, err := e.store.GetUserByPhone(t.Context(), testPhone); err != nil || u.Name != testName {
		t.Fatalf("the account of the number: %+v, %v", u, err)
	}
	if fake.Requests() != before+3 {
		t.Fatalf("the codes of a taken number's registration were not checked at Twilio as a free number's are (%d requests)", fake.Requests()-before)
	}
}

// TestDeliveryDurability: the code is committed before the message is sent; a message is sent
// at most once per code; a failed send or a crash between commit and send leaves a code that
// expires harmlessly, never a state that blocks the user (REL-07).
func TestDeliveryDurability(t *testing.T) {
	t.Run("a failed resend, then a resend that works", func(t *testing.T) {
		e := newEnv(t)
		fake := withTwilio(t, e)
		e.addUser(t)
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		first := fakeCode(t, fake)
		e.clock.Advance(30 * time.Second)
		fake.FailNext(twiliotest.ServerError)
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); !errors.Is(err, ErrSMSUnavailable) {
			t.Fatalf("Resend: %v, want ErrSMSUnavailable", err)
		}
		// The resend's code was committed before the send (the first code is dead), and its
		// message may or may not have gone: it is recorded as unknown, never sent again.
		rec, err := e.store.GetSMSMessage(t.Context(), sms.JournalKey(v.ID+"/2"))
		if err != nil || rec.Status != storage.SMSStatusUnknown || rec.ErrorCode != 20500 {
			t.Fatalf("journal of the failed resend: %+v, %v", rec, err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), first); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("the replaced code: %v, want ErrInvalidCode", err)
		}
		if n := e.flow(t, v.ID).CodeAttempts; n != 1 {
			t.Fatalf("CodeAttempts = %d: the provider's failure must not count", n)
		}
		e.clock.Advance(2 * time.Minute) // past the resend interval, even one that grows with each send
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err != nil {
			t.Fatalf("second Resend: %v", err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), fakeCode(t, fake)); err != nil {
			t.Fatalf("the code of the resend that worked: %v", err)
		}
		if n := fake.Requests(); n != 3 {
			t.Fatalf("the fake saw %d requests, want 3", n)
		}
	})

	t.Run("the process dies after the commit, before the send", func(t *testing.T) {
		e := newEnv(t)
		e.addUser(t)
		withTwilio(t, e, func(c *sms.TwilioConfig) {
			c.HTTPClient = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { panic("killed") })}
		})
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no crash")
				}
			}()
			_, _ = e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		}()
		orphan := e.store.lastFlowID(t)
		f := e.flow(t, orphan)
		if len(f.CodeHash) == 0 {
			t.Fatal("the code was not committed before the send")
		}
		if rec, err := e.store.GetSMSMessage(t.Context(), sms.JournalKey(orphan+"/1")); err != nil || rec.Status != storage.SMSStatusClaimed {
			t.Fatalf("journal after the crash: %+v, %v", rec, err)
		}

		// The restarted process: the user simply signs in again.
		fake := withTwilio(t, e)
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		if err != nil {
			t.Fatalf("sign-in after the crash: %v", err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), fakeCode(t, fake)); err != nil {
			t.Fatalf("code after the crash: %v", err)
		}
		// The orphan flow's code is never sent again, but the flow can still ask for a new one.
		if err := e.a.send(t.Context(), f, "resend of the same code"); !errors.Is(err, sms.ErrAlreadySent) {
			t.Fatalf("sending the orphan's code again: %v, want ErrAlreadySent", err)
		}
		e.clock.Advance(30 * time.Second)
		if _, err := e.a.Resend(t.Context(), orphan, browser("a")); err != nil {
			t.Fatalf("Resend of the orphan flow: %v", err)
		}
		if n := len(fake.Messages()); n != 2 {
			t.Fatalf("%d messages, want 2", n)
		}
		// And it expires harmlessly.
		e.clock.Advance(time.Hour)
		if err := e.store.GarbageCollect(t.Context(), e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.GetFlow(t.Context(), orphan); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the orphan flow outlived its expiry: %v", err)
		}
	})

	t.Run("a failed first send leaves a flow without a text", func(t *testing.T) {
		e := newEnv(t)
		fake := withTwilio(t, e)
		e.addUser(t)
		fake.FailNext(twiliotest.InvalidNumber)
		if v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil || !v.TextNotSent {
			t.Fatalf("StartLogin: %+v, %v; want the code step without a text", v, err)
		}
		if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
			t.Fatalf("the next try: %v", err)
		}
		if fake.Requests() != 2 || len(fake.Messages()) != 1 {
			t.Fatalf("requests %d, messages %d; want 2 and 1", fake.Requests(), len(fake.Messages()))
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLanguageAndTemplate(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SMSTemplate = "{product}: {code}" })
	e.addUser(t)
	if _, err := e.a.StartLogin(WithLanguage(t.Context(), "es"), testPhone, testPassword, "", browser("a")); err != nil {
		t.Fatal(err)
	}
	code := e.sms.lastCode(t)
	if got := e.sms.last(t); got.Body != "otpidp: "+code+"\n\n@"+testHost+" #"+code || got.Locale != "es" {
		t.Fatalf("message = %+v", got)
	}

	e = newEnv(t)
	if _, err := e.a.StartRegistration(WithLanguage(t.Context(), "es-ES"), testName, testPhone, testPassword, "", browser("a")); err != nil {
		t.Fatal(err)
	}
	if got := e.sms.last(t).Body; !strings.HasPrefix(got, "Tu código de otpidp es ") {
		t.Fatalf("Spanish registration message = %q", got)
	}

	if _, err := New(t.Context(), openStore(t), &recorder{}, Config{OriginHost: testHost, SMSTemplate: "no code here"}); err == nil || !strings.Contains(err.Error(), "{code}") {
		t.Fatalf("New with a template without {code}: %v", err)
	}
}
