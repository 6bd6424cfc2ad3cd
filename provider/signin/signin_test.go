package signin

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type noSMS struct{}

func (noSMS) Send(context.Context, sms.Message) error { return nil }

// env is a core on a fresh SQLite store with a fake clock, one user and two clients (one
// first party).
type env struct {
	core  *Core
	store storage.Storage
	now   time.Time
	user  storage.User
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, now: start}
	clock := func() time.Time { return e.now }
	authn, err := auth.New(t.Context(), store, noSMS{}, auth.Config{OriginHost: "idp.example", DefaultRegion: "US",
		Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	e.core = New(store, authn, Config{Now: clock})
	e.user = storage.User{ID: "u1", Phone: "+14155552671", PhoneVerified: true, Name: "Ada", PasswordHash: "x", CreatedAt: start, UpdatedAt: start}
	if err := store.CreateUser(t.Context(), e.user); err != nil {
		t.Fatal(err)
	}
	for _, c := range []storage.Client{
		{ID: "app", Name: "The App", RedirectURIs: []string{"https://app.example/cb"}, CreatedAt: start},
		{ID: "own", Name: "Our App", RedirectURIs: []string{"https://own.example/cb"}, FirstParty: true, CreatedAt: start},
	} {
		if err := store.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// inBrowser is the context of a request of the browser whose binding cookie is b, with the
// session cookie session (none when empty).
func inBrowser(t *testing.T, b, session string) context.Context {
	info := reqinfo.Info{BrowserHash: authflow.HashToken(b)}
	if session != "" {
		info.SessionHash = authflow.HashToken(session)
	}
	return reqinfo.With(t.Context(), info)
}

// signIn starts a session for the user in browser b and returns its cookie value.
func (e *env) signIn(t *testing.T, b string, authTime time.Time) authflow.NewSession {
	t.Helper()
	s, err := e.core.StartSession(inBrowser(t, b, ""), authflow.Result{UserID: e.user.ID, AuthTime: authTime, AMR: []string{"pwd", "sms", "mfa"}}, "Mozilla/5.0 Chrome/120")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request stores an authorization request of client bound to browser b, changed by edit.
func (e *env) request(t *testing.T, id, client, b string, edit func(*storage.AuthRequest)) {
	t.Helper()
	a := storage.AuthRequest{ID: id, ClientID: client, RedirectURI: "https://app.example/cb", Scopes: []string{"openid", "profile"},
		ResponseType: "code", MaxAge: -1, BrowserHash: authflow.HashToken(b), CreatedAt: e.now, ExpiresAt: e.now.Add(30 * time.Minute)}
	if edit != nil {
		edit(&a)
	}
	if err := e.store.CreateAuthRequest(t.Context(), a); err != nil {
		t.Fatal(err)
	}
}

func TestSessionSatisfies(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*storage.AuthRequest)
		after time.Duration // between the sign-in and the request
		want  authflow.Step
	}{
		{"no prompt", nil, 0, authflow.StepContinue},
		{"prompt=login", func(a *storage.AuthRequest) { a.Prompt = []string{"login"} }, 0, authflow.StepSignIn},
		{"prompt=none, session", func(a *storage.AuthRequest) { a.Prompt = []string{"none"} }, 0, authflow.StepContinue},
		{"max_age kept", func(a *storage.AuthRequest) { a.MaxAge = 600 }, 10 * time.Minute, authflow.StepContinue},
		{"max_age exceeded", func(a *storage.AuthRequest) { a.MaxAge = 600 }, 10*time.Minute + time.Second, authflow.StepSignIn},
		{"max_age exceeded, prompt=none", func(a *storage.AuthRequest) { a.MaxAge = 0; a.Prompt = []string{"none"} }, time.Second, authflow.StepLoginRequired},
		{"id_token_hint of the user", func(a *storage.AuthRequest) { a.HintSubject = "u1" }, 0, authflow.StepContinue},
		{"id_token_hint of another user", func(a *storage.AuthRequest) { a.HintSubject = "u2" }, 0, authflow.StepSignIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.signIn(t, "b", start)
			e.now = start.Add(tt.after)
			e.request(t, "ar", "own", "b", tt.edit)
			ctx := inBrowser(t, "b", s.Token)
			step, err := e.core.ResumeAuthRequest(ctx, "ar")
			if err != nil || step != tt.want {
				t.Fatalf("ResumeAuthRequest = %v, %v; want %v", step, err, tt.want)
			}
			a, _ := e.store.GetAuthRequest(t.Context(), "ar")
			if a.Done() != (tt.want == authflow.StepContinue) {
				t.Errorf("completed = %v, want %v", a.Done(), tt.want == authflow.StepContinue)
			}
			if a.Done() && (a.UserID != "u1" || !a.AuthTime.Equal(start)) {
				t.Errorf("completed as %q at %s", a.UserID, a.AuthTime)
			}
		})
	}
}

func TestNoSession(t *testing.T) {
	for _, tt := range []struct {
		prompt []string
		want   authflow.Step
	}{{nil, authflow.StepSignIn}, {[]string{"none"}, authflow.StepLoginRequired}} {
		e := newEnv(t)
		e.request(t, "ar", "own", "b", func(a *storage.AuthRequest) { a.Prompt = tt.prompt })
		if step, err := e.core.ResumeAuthRequest(inBrowser(t, "b", ""), "ar"); err != nil || step != tt.want {
			t.Errorf("prompt %v: %v, %v; want %v", tt.prompt, step, err, tt.want)
		}
		if _, step, err := e.core.Authorize(inBrowser(t, "b", ""), "ar", false); err != nil || step != tt.want {
			t.Errorf("callback, prompt %v: %v, %v; want %v", tt.prompt, step, err, tt.want)
		}
	}
}

// every lists the multiples of step before end.
func every(step, end time.Duration) []time.Duration {
	var out []time.Duration
	for d := step; d < end; d += step {
		out = append(out, d)
	}
	return out
}

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // activity at these offsets from the sign-in
		at    time.Duration
		want  bool
	}{
		{"fresh", nil, 0, true},
		{"idle just under", nil, time.Hour - time.Second, true},
		{"idle", nil, time.Hour, false},
		{"kept alive by use", []time.Duration{50 * time.Minute, 100 * time.Minute}, 150 * time.Minute, true},
		{"absolute despite use", every(30*time.Minute, 24*time.Hour), 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.signIn(t, "b", start)
			ctx := inBrowser(t, "b", s.Token)
			for _, d := range tt.steps {
				e.now = start.Add(d)
				if _, ok := e.core.Session(ctx); !ok {
					t.Fatalf("session gone at %s", d)
				}
			}
			e.now = start.Add(tt.at)
			if _, ok := e.core.Session(ctx); ok != tt.want {
				t.Errorf("session at %s: %v, want %v", tt.at, ok, tt.want)
			}
		})
	}
}

func TestBrowserBinding(t *testing.T) {
	e := newEnv(t)
	e.request(t, "ar", "own", "b", nil)
	other := inBrowser(t, "other", "")
	if _, err := e.core.AuthRequest(other, "ar"); !errors.Is(err, authflow.ErrOtherBrowser) {
		t.Errorf("AuthRequest from another browser: %v", err)
	}
	if _, err := e.core.ResumeAuthRequest(other, "ar"); !errors.Is(err, authflow.ErrOtherBrowser) {
		t.Errorf("ResumeAuthRequest from another browser: %v", err)
	}
	res := authflow.Result{UserID: "u1", AuthTime: start, AMR: []string{"pwd"}}
	if err := e.core.CompleteAuthRequest(other, "ar", res); !errors.Is(err, authflow.ErrOtherBrowser) {
		t.Errorf("CompleteAuthRequest from another browser: %v", err)
	}
	if err := e.core.CheckCallback(other, "ar"); !errors.Is(err, authflow.ErrOtherBrowser) {
		t.Errorf("CheckCallback from another browser: %v", err)
	}
	// The browser rotates its binding value: the request follows it, the old value has nothing.
	value, err := e.core.RotateBrowser(inBrowser(t, "b", ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.core.AuthRequest(inBrowser(t, "b", ""), "ar"); !errors.Is(err, authflow.ErrOtherBrowser) {
		t.Errorf("the old value after the rotation: %v", err)
	}
	now := inBrowser(t, value, "")
	if err := e.core.CompleteAuthRequest(now, "ar", res); err != nil {
		t.Fatalf("CompleteAuthRequest: %v", err)
	}
	if err := e.core.CompleteAuthRequest(now, "ar", res); !errors.Is(err, authflow.ErrRequestCompleted) {
		t.Errorf("completed twice: %v", err)
	}
	if err := e.core.CheckCallback(now, "ar"); err != nil {
		t.Errorf("CheckCallback: %v", err)
	}
	if err := e.core.CheckCallback(now, "nope"); !errors.Is(err, authflow.ErrRequestExpired) {
		t.Errorf("CheckCallback of an unknown request: %v", err)
	}
}

// consentStep completes a request of the third-party app and returns its next step.
func (e *env) consentStep(t *testing.T, id string, edit func(*storage.AuthRequest), denied bool) authflow.Step {
	t.Helper()
	e.request(t, id, "app", "b", edit)
	if err := e.store.CompleteAuthRequest(t.Context(), id, "u1", start, []string{"pwd"}, e.now); err != nil {
		t.Fatal(err)
	}
	_, step, err := e.core.Authorize(t.Context(), id, denied)
	if err != nil {
		t.Fatal(err)
	}
	return step
}

func TestConsent(t *testing.T) {
	e := newEnv(t)
	if step := e.consentStep(t, "first-party", func(a *storage.AuthRequest) { a.ClientID = "own" }, false); step != authflow.StepIssueCode {
		t.Errorf("first party: %v", step)
	}
	if step := e.consentStep(t, "ask", nil, false); step != authflow.StepConsent {
		t.Errorf("no consent yet: %v", step)
	}
	if step := e.consentStep(t, "none", func(a *storage.AuthRequest) { a.Prompt = []string{"none"} }, false); step != authflow.StepConsentRequired {
		t.Errorf("no consent yet, prompt=none: %v", step)
	}
	if step := e.consentStep(t, "denied", nil, true); step != authflow.StepAccessDenied {
		t.Errorf("denied: %v", step)
	}
	if step := e.consentStep(t, "hint", func(a *storage.AuthRequest) { a.Prompt = []string{"none"}; a.HintSubject = "u2" }, false); step != authflow.StepLoginRequired {
		t.Errorf("id_token_hint of another user: %v", step)
	}

	// The user allows on the consent page of "ask": remembered for those scopes.
	s := e.signIn(t, "b", start)
	ctx := inBrowser(t, "b", s.Token)
	if _, err := e.core.ConsentRequest(inBrowser(t, "other", s.Token), "ask"); !errors.Is(err, authflow.ErrOtherBrowser) {
		t.Errorf("consent page from another browser: %v", err)
	}
	if v, err := e.core.ConsentRequest(ctx, "ask"); err != nil || v.ClientName != "The App" {
		t.Fatalf("ConsentRequest = %+v, %v", v, err)
	}
	if err := e.core.Consent(ctx, "ask", true); err != nil {
		t.Fatal(err)
	}
	if _, step, _ := e.core.Authorize(ctx, "ask", false); step != authflow.StepIssueCode {
		t.Errorf("after consent: %v", step)
	}
	e.now = start.Add(time.Minute)
	if step := e.consentStep(t, "remembered", nil, false); step != authflow.StepIssueCode {
		t.Errorf("remembered: %v", step)
	}
	if step := e.consentStep(t, "more scopes", func(a *storage.AuthRequest) { a.Scopes = []string{"openid", "phone"} }, false); step != authflow.StepConsent {
		t.Errorf("more scopes: %v", step)
	}
	if step := e.consentStep(t, "prompt=consent", func(a *storage.AuthRequest) { a.Prompt = []string{"consent"} }, false); step != authflow.StepConsent {
		t.Errorf("prompt=consent: %v", step)
	}
	if err := e.core.Consent(ctx, "prompt=consent", true); err != nil {
		t.Fatal(err)
	}
	if _, step, _ := e.core.Authorize(ctx, "prompt=consent", false); step != authflow.StepIssueCode {
		t.Errorf("prompt=consent after a new consent: %v", step)
	}
}

func (e *env) device(t *testing.T, id, code string, ttl time.Duration) {
	t.Helper()
	sum := sha256.Sum256([]byte(code))
	dev := sha256.Sum256([]byte("device-" + id))
	err := e.store.CreateDeviceAuthorization(t.Context(), storage.DeviceAuthorization{ID: id, DeviceCodeHash: dev[:], UserCodeHash: sum[:],
		ClientID: "app", Scopes: []string{"openid"}, CreatedAt: e.now, ExpiresAt: e.now.Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeviceDecision(t *testing.T) {
	e := newEnv(t)
	s := e.signIn(t, "b", start)
	ctx := inBrowser(t, "b", s.Token)
	e.device(t, "d1", "BCDFGHJK", 10*time.Minute)
	e.device(t, "d2", "LMNPQRST", 10*time.Minute)
	e.device(t, "d3", "VWXZBCDF", time.Minute)

	d, err := e.core.DeviceRequest(ctx, "bcdf-ghjk")
	if err != nil || d.UserCode != "BCDFGHJK" || d.ClientName != "The App" {
		t.Fatalf("DeviceRequest = %+v, %v", d, err)
	}
	if shown, ok := e.core.UserCode(d.UserCode); !ok || shown != "BCDF-GHJK" {
		t.Errorf("UserCode = %q, %v", shown, ok)
	}
	// Another browser has no session: nothing is decided.
	if err := e.core.DecideDevice(inBrowser(t, "other", ""), "BCDF-GHJK", true); !errors.Is(err, authflow.ErrNotSignedIn) {
		t.Errorf("from another browser: %v", err)
	}
	if err := e.core.DecideDevice(ctx, "BCDF-GHJK", true); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := e.core.DecideDevice(ctx, "LMNP-QRST", false); err != nil {
		t.Fatalf("deny: %v", err)
	}
	e.now = start.Add(2 * time.Minute)
	if err := e.core.DecideDevice(ctx, "VWXZ-BCDF", true); !errors.Is(err, authflow.ErrDeviceNotFound) {
		t.Errorf("expired: %v", err)
	}
	// Decided requests are not found again.
	if err := e.core.DecideDevice(ctx, "BCDF-GHJK", false); !errors.Is(err, authflow.ErrDeviceNotFound) {
		t.Errorf("decided twice: %v", err)
	}
	// Wrong codes are limited per IP: 10 in 15 minutes (two spent above).
	for i := range 8 {
		if _, err := e.core.DeviceRequest(ctx, "ZZZZ-ZZZZ"); !errors.Is(err, authflow.ErrDeviceNotFound) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	var le *authflow.LimitError
	if _, err := e.core.DeviceRequest(ctx, "ZZZZ-ZZZZ"); !errors.As(err, &le) || le.Scope != authflow.ScopeDeviceCode || le.RetryAfter <= 0 {
		t.Errorf("over the limit: %v", err)
	}
}

func TestEndDevice(t *testing.T) {
	e := newEnv(t)
	phone := e.signIn(t, "phone", start)
	laptop := e.signIn(t, "laptop", start)
	ctx := inBrowser(t, "laptop", laptop.Token)
	acct, err := e.core.Account(ctx, laptop.Session)
	if err != nil || len(acct.Devices) != 2 || acct.Name != "Ada" {
		t.Fatalf("Account = %+v, %v", acct, err)
	}
	// A stale sign-in may not end another device, but may end its own.
	e.now = start.Add(11 * time.Minute)
	if _, err := e.core.EndDevice(ctx, laptop.Session, phone.ID); !errors.Is(err, authflow.ErrStaleSignIn) {
		t.Errorf("stale: %v", err)
	}
	e.now = start.Add(5 * time.Minute)
	if ended, err := e.core.EndDevice(ctx, laptop.Session, "someone-elses"); err != nil || ended {
		t.Errorf("unknown session: %v, %v", ended, err)
	}
	if ended, err := e.core.EndDevice(ctx, laptop.Session, phone.ID); err != nil || ended {
		t.Fatalf("end the phone: %v, %v", ended, err)
	}
	if _, ok := e.core.Session(inBrowser(t, "phone", phone.Token)); ok {
		t.Error("the phone is still signed in")
	}
	e.now = start.Add(time.Hour - time.Second)
	if ended, err := e.core.EndDevice(ctx, laptop.Session, laptop.ID); err != nil || !ended {
		t.Fatalf("end this device: %v, %v", ended, err)
	}
	if _, ok := e.core.Session(ctx); ok {
		t.Error("this device is still signed in")
	}
}

func TestRemoveApp(t *testing.T) {
	e := newEnv(t)
	s := e.signIn(t, "b", start)
	ctx := inBrowser(t, "b", s.Token)
	tok := storage.AccessToken{ID: "at1", ClientID: "app", UserID: "u1", Scopes: []string{"openid"}, CreatedAt: start, ExpiresAt: start.Add(time.Hour)}
	if err := e.store.CreateAccessToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	acct, err := e.core.Account(ctx, s.Session)
	if err != nil || len(acct.Apps) != 1 || acct.Apps[0].Name != "The App" {
		t.Fatalf("apps = %+v, %v", acct.Apps, err)
	}
	e.now = start.Add(11 * time.Minute)
	if err := e.core.RemoveApp(ctx, s.Session, "app"); !errors.Is(err, authflow.ErrStaleSignIn) {
		t.Errorf("stale: %v", err)
	}
	e.now = start.Add(time.Minute)
	if err := e.core.RemoveApp(ctx, s.Session, "app"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetAccessToken(t.Context(), "at1"); got.RevokedAt.IsZero() {
		t.Error("the app's token is not revoked")
	}
	if acct, _ := e.core.Account(ctx, s.Session); len(acct.Apps) != 0 {
		t.Errorf("apps after removal: %+v", acct.Apps)
	}
}
