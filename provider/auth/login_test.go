package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t)

	v, err := e.a.StartLogin(t.Context(), testNational, testPassword, "ar-1", browser("a"))
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	wantView := FlowView{
		ID:            e.store.lastFlowID(t),
		Kind:          authflow.FlowLogin,
		MaskedPhone:   "+1 ••• ••• 2671",
		AuthRequestID: "ar-1",
		ResendAt:      testStart.Add(30 * time.Second),
		ExpiresAt:     testStart.Add(15 * time.Minute),
	}
	if diff := cmp.Diff(wantView, v); diff != "" {
		t.Errorf("FlowView (-want +got):\n%s", diff)
	}

	code := e.sms.lastCode(t)
	wantMsg := sms.Message{
		To:       testPhone,
		Body:     "Your otpidp code is " + code + ". It expires in 5 minutes.\n\n@" + testHost + " #" + code,
		ValidFor: 5 * time.Minute,
		Key:      v.ID + "/1",
	}
	if diff := cmp.Diff(wantMsg, e.sms.last(t)); diff != "" {
		t.Errorf("SMS (-want +got):\n%s", diff)
	}

	// The store holds only the code's keyed hash, bound to the flow.
	f := e.flow(t, v.ID)
	if !cmp.Equal(f.CodeHash, codeHash(e.a.hmacKey, v.ID, code)) {
		t.Errorf("stored CodeHash is not HMAC(key, flowID:code)")
	}
	if strings.Contains(fmt.Sprintf("%+v", f), code) {
		t.Errorf("stored flow contains the plaintext code")
	}
	if f.UserID != u.ID || f.Phone != testPhone {
		t.Errorf("flow user/phone = %q/%q, want %q/%q", f.UserID, f.Phone, u.ID, testPhone)
	}

	e.clock.Advance(time.Minute)
	got, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code[:3]+" "+code[3:])
	if err != nil {
		t.Fatalf("VerifyLogin: %v", err)
	}
	want := Result{UserID: u.ID, AuthTime: testStart.Add(time.Minute), AMR: []string{"pwd", "sms", "mfa"}, AuthRequestID: "ar-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if _, err := e.a.Flow(t.Context(), v.ID, browser("a")); !errors.Is(err, ErrFlowNotFound) {
		t.Errorf("Flow after success: err = %v, want ErrFlowNotFound", err)
	}
}

func TestStartLoginRefused(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *env)
		phone      string
		password   string
		browser    []byte
		want       error
		wantHashes int64
	}{
		{
			name:     "wrong password",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    testPhone,
			password: testPassword + "!", browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 1,
		},
		{
			name:     "case-flipped password",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    testPhone,
			password: strings.ToUpper(testPassword), browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 1,
		},
		{
			name:     "unknown phone costs a hash",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    "+14155552672",
			password: testPassword, browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 1,
		},
		{
			name:     "no account on a number that is not mobile",
			setup:    func(*testing.T, *env) {},
			phone:    "+18002345678",
			password: testPassword, browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 1,
		},
		{
			name: "unverified phone",
			setup: func(t *testing.T, e *env) {
				hash, err := e.a.HashPassword(t.Context(), testPassword)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.store.CreateUser(t.Context(), storage.User{ID: "u1", Phone: testPhone, Name: testName, PasswordHash: hash, CreatedAt: testStart, UpdatedAt: testStart}); err != nil {
					t.Fatal(err)
				}
			},
			phone:    testPhone,
			password: testPassword, browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 1,
		},
		{
			name: "malformed stored hash",
			setup: func(t *testing.T, e *env) {
				if err := e.store.CreateUser(t.Context(), storage.User{ID: "u1", Phone: testPhone, PhoneVerified: true, Name: testName, PasswordHash: "plain:" + testPassword, CreatedAt: testStart, UpdatedAt: testStart}); err != nil {
					t.Fatal(err)
				}
			},
			phone:    testPhone,
			password: testPassword, browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 0,
		},
		{
			name:     "password over 4096 bytes is not hashed",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    testPhone,
			password: strings.Repeat("a", MaxPasswordBytes+1), browser: browser("a"),
			want: ErrInvalidCredentials, wantHashes: 0,
		},
		{
			name:     "not a phone number",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    "call me",
			password: testPassword, browser: browser("a"),
			want: ErrInvalidPhone, wantHashes: 0,
		},
		{
			name:     "empty phone",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    "",
			password: testPassword, browser: browser("a"),
			want: ErrInvalidPhone, wantHashes: 0,
		},
		{
			name:     "no browser",
			setup:    func(t *testing.T, e *env) { e.addUser(t) },
			phone:    testPhone,
			password: testPassword, browser: nil,
			want: errNoBrowser, wantHashes: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(t, e)
			before := e.a.hashCalls.Load()
			_, err := e.a.StartLogin(t.Context(), tt.phone, tt.password, "", tt.browser)
			if !errors.Is(err, tt.want) {
				t.Fatalf("StartLogin: err = %v, want %v", err, tt.want)
			}
			if tt.want == ErrInvalidPhone && !errors.Is(err, phone.ErrInvalid) {
				t.Errorf("err = %v does not wrap phone.ErrInvalid", err)
			}
			if n := e.sms.count(); n != 0 {
				t.Errorf("%d SMS sent, want 0", n)
			}
			if n := e.a.hashCalls.Load() - before; n != tt.wantHashes {
				t.Errorf("%d password hashes, want %d", n, tt.wantHashes)
			}
		})
	}
}

// TestLoginBcrypt: a user imported with a bcrypt hash (the tutorial's) can sign in.
func TestLoginBcrypt(t *testing.T) {
	e := newEnv(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u := storage.User{ID: "imported", Phone: testPhone, PhoneVerified: true, Name: testName, PasswordHash: string(hash), CreatedAt: testStart, UpdatedAt: testStart}
	if err := e.store.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.StartLogin(t.Context(), testPhone, "wrong password", "", browser("a")); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("StartLogin with a wrong password: err = %v, want ErrInvalidCredentials", err)
	}
	v, code := e.login(t)
	got, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code)
	if err != nil || got.UserID != u.ID {
		t.Fatalf("VerifyLogin = %+v, %v; want user %q", got, err, u.ID)
	}
}

func TestVerifyLogin(t *testing.T) {
	// Each step verifies code (or a function of the right one) after advancing the clock.
	type step struct {
		advance time.Duration
		code    func(right string) string
		browser string
		want    error
	}
	right := func(c string) string { return c }
	wrong := func(c string) string { return fmt.Sprintf("%06d", (mustAtoi(c)+1)%codeSpace) }
	tests := []struct {
		name         string
		steps        []step
		wantAttempts int
	}{
		{"right code", []step{{0, right, "a", nil}}, 0},
		{"pasted with dashes", []step{{0, func(c string) string { return c[:3] + "-" + c[3:] }, "a", nil}}, 0},
		{"wrong then right", []step{{0, wrong, "a", ErrInvalidCode}, {0, right, "a", nil}}, 1},
		{"malformed counts as a try", []step{{0, func(string) string { return "12345" }, "a", ErrInvalidCode}}, 1},
		{"letters count as a try", []step{{0, func(string) string { return "abcdef" }, "a", ErrInvalidCode}}, 1},
		{"just before expiry", []step{{5*time.Minute - time.Second, right, "a", nil}}, 0},
		{"expired at exactly the TTL", []step{{5 * time.Minute, right, "a", ErrInvalidCode}}, 0},
		{"used twice", []step{{0, right, "a", nil}, {0, right, "a", ErrInvalidCode}}, 0},
		{"other browser", []step{{0, right, "b", ErrFlowNotFound}, {0, right, "a", nil}}, 0},
		{"flow expired", []step{{15 * time.Minute, right, "a", ErrFlowNotFound}}, 0},
		{
			"sixth try after five wrong",
			[]step{
				{0, wrong, "a", ErrInvalidCode},
				{0, wrong, "a", ErrInvalidCode},
				{0, wrong, "a", ErrInvalidCode},
				{0, wrong, "a", ErrInvalidCode},
				{0, wrong, "a", ErrTooManyAttempts},
				{0, right, "a", ErrTooManyAttempts},
			},
			5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.addUser(t)
			v, code := e.login(t)
			for i, s := range tt.steps {
				e.clock.Advance(s.advance)
				got, err := e.a.VerifyLogin(t.Context(), v.ID, browser(s.browser), s.code(code))
				if !errors.Is(err, s.want) {
					t.Fatalf("step %d: err = %v, want %v", i, err, s.want)
				}
				if err == nil && got.UserID != u.ID {
					t.Errorf("step %d: UserID = %q, want %q", i, got.UserID, u.ID)
				}
			}
			if n := e.flow(t, v.ID).CodeAttempts; n != tt.wantAttempts {
				t.Errorf("CodeAttempts = %d, want %d", n, tt.wantAttempts)
			}
		})
	}
}

func TestVerifyLoginUnknownFlow(t *testing.T) {
	e := newEnv(t)
	e.addUser(t)
	v, code := e.login(t)
	reg, err := e.a.StartRegistration(t.Context(), "Grace Hopper", "+14155552672", testPassword, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, id string }{
		{"empty", ""},
		{"unknown", "no-such-flow"},
		{"too long", strings.Repeat("x", 1000)},
		{"a registration flow", reg.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.a.VerifyLogin(t.Context(), tt.id, browser("a"), code); !errors.Is(err, ErrFlowNotFound) {
				t.Errorf("VerifyLogin: err = %v, want ErrFlowNotFound", err)
			}
		})
	}
	if _, err := e.a.VerifyRegistration(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrFlowNotFound) {
		t.Errorf("VerifyRegistration of a login flow: err = %v, want ErrFlowNotFound", err)
	}
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); err != nil {
		t.Errorf("VerifyLogin after the refusals: %v", err)
	}
}

// TestCodeBoundToFlow: a code works only in the flow it was sent for (OTP-04).
func TestCodeBoundToFlow(t *testing.T) {
	e := newEnv(t)
	e.addUser(t)
	v1, code1 := e.login(t)
	v2, code2 := e.login(t)
	if code1 == code2 {
		t.Fatalf("seeded reader gave two equal codes %q; change the seed", code1)
	}
	if _, err := e.a.VerifyLogin(t.Context(), v2.ID, browser("a"), code1); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("flow 1's code in flow 2: err = %v, want ErrInvalidCode", err)
	}
	if _, err := e.a.VerifyLogin(t.Context(), v1.ID, browser("a"), code1); err != nil {
		t.Errorf("flow 1's code in flow 1: %v", err)
	}
}

func TestResend(t *testing.T) {
	e := newEnv(t)
	e.addUser(t)
	v, oldCode := e.login(t)

	e.clock.Advance(10 * time.Second)
	_, err := e.a.Resend(t.Context(), v.ID, browser("a"))
	var tooSoon *TooSoonError
	if !errors.As(err, &tooSoon) || tooSoon.RetryAfter != 20*time.Second {
		t.Fatalf("Resend at +10s: err = %v, want TooSoonError{20s}", err)
	}
	if n := e.sms.count(); n != 1 {
		t.Fatalf("%d SMS after a refused resend, want 1", n)
	}
	if _, err := e.a.Resend(t.Context(), v.ID, browser("b")); !errors.Is(err, ErrFlowNotFound) {
		t.Errorf("Resend from another browser: err = %v, want ErrFlowNotFound", err)
	}

	// One wrong try, then the resend resets the count.
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), "bad"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("VerifyLogin(bad): %v", err)
	}
	e.clock.Advance(20 * time.Second)
	v2, err := e.a.Resend(t.Context(), v.ID, browser("a"))
	if err != nil {
		t.Fatalf("Resend at +30s: %v", err)
	}
	want := v
	want.ResendAt = testStart.Add(30*time.Second + time.Minute) // the second wait is twice the first
	if diff := cmp.Diff(want, v2); diff != "" {
		t.Errorf("FlowView after resend (-want +got):\n%s", diff)
	}
	newCode := e.sms.lastCode(t)
	if newCode == oldCode {
		t.Fatalf("resend sent the same code %q", newCode)
	}
	f := e.flow(t, v.ID)
	if f.CodeAttempts != 0 || f.SendCount != 2 || !f.CodeSentAt.Equal(testStart.Add(30*time.Second)) {
		t.Errorf("flow after resend: attempts %d, sends %d, sent at %v", f.CodeAttempts, f.SendCount, f.CodeSentAt)
	}
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), oldCode); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("old code after resend: err = %v, want ErrInvalidCode", err)
	}
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), newCode); err != nil {
		t.Errorf("new code after resend: %v", err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); !errors.Is(err, ErrFlowNotFound) {
		t.Errorf("Resend of a finished flow: err = %v, want ErrFlowNotFound", err)
	}
}

// TestResendRace: when another instance resends between our read and our write, the store
// refuses ours and the caller is told to wait.
func TestResendRace(t *testing.T) {
	tests := []struct {
		name  string
		other func(t *testing.T, e *env, f storage.Flow)
		want  error
	}{
		{"other resend", func(t *testing.T, e *env, f storage.Flow) {
			if err := e.store.Storage.ReplaceCode(t.Context(), f.ID, f.CodeSentAt, []byte("other"), e.clock.Now().Add(time.Minute), e.clock.Now()); err != nil {
				t.Error(err)
			}
		}, &TooSoonError{RetryAfter: time.Minute}}, // the other resend was the second code
		{"flow finished", func(t *testing.T, e *env, f storage.Flow) {
			if _, err := e.store.Storage.ConsumeCode(t.Context(), f.ID, f.CodeHash, 5, e.clock.Now()); err != nil {
				t.Error(err)
			}
		}, ErrFlowNotFound},
		{"flow deleted", func(t *testing.T, e *env, f storage.Flow) {
			if err := e.store.Storage.DeleteFlow(t.Context(), f.ID); err != nil {
				t.Error(err)
			}
		}, ErrFlowNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.addUser(t)
			v, _ := e.login(t)
			e.clock.Advance(40 * time.Second)
			f := e.flow(t, v.ID)
			e.store.before = func(string) { tt.other(t, e, f) }
			_, err := e.a.Resend(t.Context(), v.ID, browser("a"))
			var tooSoon *TooSoonError
			if want, ok := tt.want.(*TooSoonError); ok {
				if !errors.As(err, &tooSoon) || *tooSoon != *want {
					t.Fatalf("Resend: err = %v, want %v", err, want)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("Resend: err = %v, want %v", err, tt.want)
			}
			if n := e.sms.count(); n != 1 {
				t.Errorf("%d SMS, want only the first", n)
			}
		})
	}
}

// TestVerifyRace: what another instance does between our read of the flow and our
// conditional update decides the answer.
func TestVerifyRace(t *testing.T) {
	deleteFlow := func(t *testing.T, e *env, id string) {
		if err := e.store.Storage.DeleteFlow(t.Context(), id); err != nil {
			t.Error(err)
		}
	}
	killCode := func(t *testing.T, e *env, id string) {
		f := e.flow(t, id)
		for range 5 {
			if _, err := e.store.Storage.RecordWrongCode(t.Context(), id, f.CodeHash, 5); err != nil {
				t.Error(err)
			}
		}
	}
	tests := []struct {
		name     string
		register bool
		right    bool
		other    func(t *testing.T, e *env, id string)
		want     error
	}{
		{"login, right code, flow deleted", false, true, deleteFlow, ErrFlowNotFound},
		{"login, wrong code, flow deleted", false, false, deleteFlow, ErrFlowNotFound},
		{"registration, right code, flow deleted", true, true, deleteFlow, ErrFlowNotFound},
		{"login, right code, killed meanwhile", false, true, killCode, ErrTooManyAttempts},
		{"login, wrong code, killed meanwhile", false, false, killCode, ErrTooManyAttempts},
		{"registration, right code, killed meanwhile", true, true, killCode, ErrTooManyAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			verify := e.a.VerifyLogin
			var id, code string
			if tt.register {
				v, err := e.a.StartRegistration(t.Context(), testName, testPhone, testPassword, "", browser("a"))
				if err != nil {
					t.Fatal(err)
				}
				id, code, verify = v.ID, e.sms.lastCode(t), e.a.VerifyRegistration
			} else {
				e.addUser(t)
				v, c := e.login(t)
				id, code = v.ID, c
			}
			if !tt.right {
				code = "bad"
			}
			e.store.before = func(string) { tt.other(t, e, id) }
			if _, err := verify(t.Context(), id, browser("a"), code); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFlow(t *testing.T) {
	tests := []struct {
		name    string
		id      func(v FlowView) string
		browser string
		advance time.Duration
		use     bool
		want    error
	}{
		{"live", func(v FlowView) string { return v.ID }, "a", 0, false, nil},
		{"just before expiry", func(v FlowView) string { return v.ID }, "a", 15*time.Minute - time.Second, false, nil},
		{"expired", func(v FlowView) string { return v.ID }, "a", 15 * time.Minute, false, ErrFlowNotFound},
		{"other browser", func(v FlowView) string { return v.ID }, "b", 0, false, ErrFlowNotFound},
		{"unknown", func(FlowView) string { return "nope" }, "a", 0, false, ErrFlowNotFound},
		{"finished", func(v FlowView) string { return v.ID }, "a", 0, true, ErrFlowNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.addUser(t)
			v, code := e.login(t)
			if tt.use {
				if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(tt.advance)
			got, err := e.a.Flow(t.Context(), tt.id(v), browser(tt.browser))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Flow: err = %v, want %v", err, tt.want)
			}
			if err == nil {
				if diff := cmp.Diff(v, got); diff != "" {
					t.Errorf("FlowView (-start +Flow):\n%s", diff)
				}
			}
		})
	}
}

// TestResendRevivesDeadCode: after MaxCodeAttempts wrong tries, a resend gives a working code.
func TestResendRevivesDeadCode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxCodeAttempts = 2 })
	e.addUser(t)
	v, _ := e.login(t)
	for range 2 {
		_, _ = e.a.VerifyLogin(t.Context(), v.ID, browser("a"), "000000x")
	}
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), "nope"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after 2 wrong tries: err = %v, want ErrTooManyAttempts", err)
	}
	e.clock.Advance(30 * time.Second)
	if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), e.sms.lastCode(t)); err != nil {
		t.Errorf("new code: %v", err)
	}
}

// TestSMSFailure: a failed first SMS deletes the flow and maps the error; a failed resend
// keeps the flow.
func TestSMSFailure(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		senderErr error
		want      error
	}{
		{"undeliverable", fmt.Errorf("twilio 21614 for %s: %w", testPhone, sms.ErrUndeliverable), ErrSMSUndeliverable},
		{"unavailable", fmt.Errorf("twilio 503: %w", sms.ErrUnavailable), ErrSMSUnavailable},
		{"other error", boom, ErrSMSUnavailable},
	}
	starts := []struct {
		name  string
		start func(t *testing.T, e *env) error
	}{
		{"login", func(t *testing.T, e *env) error {
			_, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
			return err
		}},
		{"registration", func(t *testing.T, e *env) error {
			_, err := e.a.StartRegistration(t.Context(), "Grace Hopper", "+14155552672", testPassword, "", browser("a"))
			return err
		}},
	}
	for _, tt := range tests {
		for _, s := range starts {
			t.Run(tt.name+"/"+s.name, func(t *testing.T) {
				e := newEnv(t)
				e.addUser(t)
				e.sms.fail(tt.senderErr)
				if s.name == "login" {
					// The password was right: the code step, without a text (recovery code).
					v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
					e.wantTextless(t, "login with a failing sender", v, err, 1)
					return
				}
				err := s.start(t, e)
				if !errors.Is(err, tt.want) || !errors.Is(err, tt.senderErr) {
					t.Fatalf("err = %v, want %v wrapping %v", err, tt.want, tt.senderErr)
				}
				if tt.want == ErrSMSUndeliverable && !errors.Is(err, sms.ErrUndeliverable) ||
					tt.want == ErrSMSUnavailable && !errors.Is(err, sms.ErrUnavailable) {
					t.Errorf("err = %v does not wrap the sms sentinel", err)
				}
				if _, err := e.store.GetFlow(t.Context(), e.store.lastFlowID(t)); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("flow after failed send: err = %v, want ErrNotFound", err)
				}
				if e.sms.count() != 1 {
					t.Errorf("%d send attempts, want 1", e.sms.count())
				}
			})
		}
		t.Run(tt.name+"/resend", func(t *testing.T) {
			e := newEnv(t)
			e.addUser(t)
			v, _ := e.login(t)
			e.sms.fail(tt.senderErr)
			e.clock.Advance(30 * time.Second)
			if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); !errors.Is(err, tt.want) || !errors.Is(err, tt.senderErr) {
				t.Fatalf("Resend: err = %v, want %v", err, tt.want)
			}
			if _, err := e.a.Flow(t.Context(), v.ID, browser("a")); err != nil {
				t.Fatalf("Flow after failed resend: %v", err)
			}
			e.sms.fail(nil)
			var tooSoon *TooSoonError
			if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); !errors.As(err, &tooSoon) {
				t.Fatalf("Resend right after a failed one: err = %v, want TooSoonError", err)
			}
			e.clock.Advance(time.Minute) // the wait after the second code
			if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err != nil {
				t.Fatalf("Resend after the interval: %v", err)
			}
			if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), e.sms.lastCode(t)); err != nil {
				t.Errorf("VerifyLogin: %v", err)
			}
		})
	}
}

// TestConcurrentVerify: the store decides, however many requests race (OTP-03, RL-04).
func TestConcurrentVerify(t *testing.T) {
	t.Run("20 right codes, one success", func(t *testing.T) {
		e := newEnv(t)
		e.addUser(t)
		v, code := e.login(t)
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrInvalidCode):
				t.Errorf("loser: err = %v, want ErrInvalidCode", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d successes, want 1", ok)
		}
	})
	t.Run("50 wrong codes, at most the cap counted", func(t *testing.T) {
		e := newEnv(t)
		e.addUser(t)
		v, code := e.login(t)
		var wg sync.WaitGroup
		errs := make([]error, 50)
		for i := range errs {
			wg.Go(func() {
				wrong := fmt.Sprintf("%06d", (mustAtoi(code)+1+i)%codeSpace)
				_, errs[i] = e.a.VerifyLogin(t.Context(), v.ID, browser("a"), wrong)
			})
		}
		wg.Wait()
		for _, err := range errs {
			if !errors.Is(err, ErrInvalidCode) && !errors.Is(err, ErrTooManyAttempts) {
				t.Errorf("err = %v, want ErrInvalidCode or ErrTooManyAttempts", err)
			}
		}
		if n := e.flow(t, v.ID).CodeAttempts; n != 5 {
			t.Errorf("CodeAttempts = %d, want 5", n)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrTooManyAttempts) {
			t.Errorf("right code after the cap: err = %v, want ErrTooManyAttempts", err)
		}
	})
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}
