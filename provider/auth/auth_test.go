package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

const (
	testPhone    = "+14155552671"
	testNational = "(415) 555-2671"
	testName     = "Ada Lovelace"
	testPassword = "correct horse battery staple"
	testHost     = "idp.example.com"
)

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is an SMS sender that keeps every message it is given and fails with err when set.
type recorder struct {
	mu   sync.Mutex
	msgs []sms.Message
	err  error
}

func (r *recorder) Send(_ context.Context, m sms.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return r.err
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) last(t *testing.T) sms.Message {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	return r.msgs[len(r.msgs)-1]
}

// lastCode returns the code of the last message, read from its origin-bound line.
func (r *recorder) lastCode(t *testing.T) string {
	t.Helper()
	m := r.last(t)
	match := regexp.MustCompile(`#(\d{6})$`).FindStringSubmatch(m.Body)
	if match == nil {
		t.Fatalf("last SMS has no code: %q", m.Body)
	}
	return match[1]
}

// spyStore is the real store, remembering the IDs of the flows created through it. When
// before is set, the conditional updates on a flow call it first with their name, so a test
// can play another instance acting in between.
type spyStore struct {
	storage.Storage
	mu      sync.Mutex
	flowIDs []string
	before  func(method string)
}

func (s *spyStore) hook(method string) {
	if s.before != nil {
		s.before(method)
	}
}

func (s *spyStore) ReplaceCode(ctx context.Context, id string, prevSentAt time.Time, codeHash []byte, expiresAt, sentAt time.Time) error {
	s.hook("ReplaceCode")
	return s.Storage.ReplaceCode(ctx, id, prevSentAt, codeHash, expiresAt, sentAt)
}

func (s *spyStore) RecordWrongCode(ctx context.Context, id string, currentHash []byte, maxAttempts int) (int, error) {
	s.hook("RecordWrongCode")
	return s.Storage.RecordWrongCode(ctx, id, currentHash, maxAttempts)
}

func (s *spyStore) ConsumeCode(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time) (storage.Flow, error) {
	s.hook("ConsumeCode")
	return s.Storage.ConsumeCode(ctx, id, codeHash, maxAttempts, now)
}

func (s *spyStore) CompleteRegistration(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time, u storage.User) error {
	s.hook("CompleteRegistration")
	return s.Storage.CompleteRegistration(ctx, id, codeHash, maxAttempts, now, u)
}

func (s *spyStore) CreateFlow(ctx context.Context, f storage.Flow) error {
	s.mu.Lock()
	s.flowIDs = append(s.flowIDs, f.ID)
	s.mu.Unlock()
	return s.Storage.CreateFlow(ctx, f)
}

func (s *spyStore) lastFlowID(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flowIDs) == 0 {
		t.Fatal("no flow created")
	}
	return s.flowIDs[len(s.flowIDs)-1]
}

// syncBuffer is a bytes.Buffer safe for a logger used from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	a     *Authenticator
	store *spyStore
	sms   *recorder
	clock *fakeClock
	logs  *syncBuffer
}

func openStore(t *testing.T) storage.Storage {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "otpidp.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// testConfig is cheap to hash with.
func testConfig() Config {
	return Config{
		ProductName:   "otpidp",
		OriginHost:    testHost,
		DefaultRegion: "US",
		Argon2:        Argon2Params{Memory: 64, Time: 1, Threads: 1},
	}
}

// newEnv returns an Authenticator on a fresh migrated SQLite store, with a fake clock, a
// seeded random reader, a recording sender and a captured JSON log.
func newEnv(t *testing.T, edit ...func(*Config)) *env {
	t.Helper()
	return newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name(), edit...)
}

// newEnvOn is newEnv on a given store, with the random reader seeded from seed.
func newEnvOn(t *testing.T, store *spyStore, seed string, edit ...func(*Config)) *env {
	t.Helper()
	cfg := testConfig()
	for _, e := range edit {
		e(&cfg)
	}
	e := &env{store: store, sms: &recorder{}, clock: &fakeClock{t: testStart}, logs: &syncBuffer{}}
	a, err := New(t.Context(), e.store, e.sms, cfg,
		WithClock(e.clock.Now),
		WithRand(rand.NewChaCha8(sha256.Sum256([]byte(seed)))),
		WithLogger(slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{
			Level: slog.LevelDebug,
			// The wall-clock time is dropped: its digits could look like a code.
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.a = a
	return e
}

func browser(name string) []byte {
	h := sha256.Sum256([]byte("browser-" + name))
	return h[:]
}

// addUser creates the test user as an operator would.
func (e *env) addUser(t *testing.T) storage.User {
	t.Helper()
	u, err := e.a.CreateUser(t.Context(), testPhone, testName, testPassword)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// login starts a login of the test user and returns the flow and the code sent.
func (e *env) login(t *testing.T) (FlowView, string) {
	t.Helper()
	v, err := e.a.StartLogin(t.Context(), testNational, testPassword, "ar-1", browser("a"))
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	return v, e.sms.lastCode(t)
}

func (e *env) flow(t *testing.T, id string) storage.Flow {
	t.Helper()
	f, err := e.store.GetFlow(t.Context(), id)
	if err != nil {
		t.Fatalf("GetFlow: %v", err)
	}
	return f
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr bool
	}{
		{"cheap test config", func(*Config) {}, false},
		{"no origin host", func(c *Config) { c.OriginHost = "" }, true},
		{"code TTL over 10 minutes", func(c *Config) { c.CodeTTL = 11 * time.Minute }, true},
		{"code TTL of 10 minutes", func(c *Config) { c.CodeTTL = 10 * time.Minute }, false},
		{"negative attempts", func(c *Config) { c.MaxCodeAttempts = -1 }, true},
		{"negative resend interval", func(c *Config) { c.ResendInterval = -time.Second }, true},
		{"negative flow TTL", func(c *Config) { c.FlowTTL = -time.Second }, true},
		{"negative hash permits", func(c *Config) { c.MaxConcurrentHashes = -1 }, true},
		{"salt too short", func(c *Config) { c.Argon2.SaltLen = 4 }, true},
		{"key too short", func(c *Config) { c.Argon2.KeyLen = 8 }, true},
		{"memory too large", func(c *Config) { c.Argon2.Memory = 1<<20 + 1 }, true},
	}
	store := openStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			_, err := New(t.Context(), store, &recorder{}, cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New: err = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
	t.Run("nil store or sender", func(t *testing.T) {
		if _, err := New(t.Context(), nil, &recorder{}, testConfig()); err == nil {
			t.Error("New(nil store): no error")
		}
		if _, err := New(t.Context(), store, nil, testConfig()); err == nil {
			t.Error("New(nil sender): no error")
		}
	})
}

func TestNewDefaults(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ProductName = "" })
	got := e.a.cfg
	want := Config{
		ProductName:         "otpidp",
		OriginHost:          testHost,
		DefaultRegion:       "US",
		CodeTTL:             5 * time.Minute,
		MaxCodeAttempts:     5,
		ResendInterval:      30 * time.Second,
		FlowTTL:             15 * time.Minute,
		Argon2:              Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		MaxConcurrentHashes: cap(e.a.hashSem),
		Limits: Limits{
			LoginThrottleAfter: 5, LoginDelay: 30 * time.Second, LoginMaxDelay: 15 * time.Minute,
			FailureReset: 12 * time.Hour, LoginPerIP: Rate{Max: 30, Per: 15 * time.Minute}, LoginGlobal: Rate{Max: 600, Per: time.Minute},
			ResendMaxInterval: 30 * time.Minute, SMSFactorMaxFailures: 100, RecoveryMaxFailures: 10,
			SMSPhoneHourly: Rate{Max: 5, Per: time.Hour}, SMSPhoneDaily: Rate{Max: 10, Per: 24 * time.Hour},
			SMSIPHourly: Rate{Max: 10, Per: time.Hour}, SMSPrefixHourly: Rate{Max: 10, Per: time.Hour},
			SMSCountryDaily: Rate{Max: 1000, Per: 24 * time.Hour}, SMSGlobalHourly: Rate{Max: 300, Per: time.Hour},
			SMSGlobalDaily: Rate{Max: 3000, Per: 24 * time.Hour}, SMSReservePercent: 20,
			SMSSignInPhoneHourly: Rate{Max: 5, Per: time.Hour}, SMSSignInPhoneDaily: Rate{Max: 10, Per: 24 * time.Hour},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got.MaxConcurrentHashes < 2 {
		t.Errorf("MaxConcurrentHashes = %d, want 2*GOMAXPROCS", got.MaxConcurrentHashes)
	}
}

// TestSharedKey: instances on one store share the code key, so any instance can check a code
// sent by another (REL-01).
func TestSharedKey(t *testing.T) {
	store := &spyStore{Storage: openStore(t)}
	e1 := newEnvOn(t, store, "one")
	e2 := newEnvOn(t, store, "two")
	if !bytes.Equal(e1.a.hmacKey, e2.a.hmacKey) || len(e1.a.hmacKey) != 32 {
		t.Fatalf("keys differ or are short: %x / %x", e1.a.hmacKey, e2.a.hmacKey)
	}
	e1.addUser(t)
	v, code := e1.login(t)
	if _, err := e2.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); err != nil {
		t.Fatalf("VerifyLogin on the other instance: %v", err)
	}
}

// TestHashSemaphore: with every permit taken, hashing waits and gives up with the context.
func TestHashSemaphore(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConcurrentHashes = 1 })
	e.a.hashSem <- struct{}{} // take the only permit
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	before := e.a.hashCalls.Load()
	if _, err := e.a.HashPassword(ctx, testPassword); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("HashPassword with no permit: err = %v, want DeadlineExceeded", err)
	}
	if _, err := e.a.VerifyPassword(ctx, testPassword, e.a.dummyHash); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("VerifyPassword with no permit: err = %v, want DeadlineExceeded", err)
	}
	if n := e.a.hashCalls.Load() - before; n != 0 {
		t.Errorf("%d hashes computed without a permit", n)
	}
	<-e.a.hashSem
	if _, err := e.a.HashPassword(t.Context(), testPassword); err != nil {
		t.Errorf("HashPassword after release: %v", err)
	}
}
