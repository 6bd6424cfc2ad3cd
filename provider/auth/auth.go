// Package auth is otpidp's authentication core, free of HTTP: sign-in with phone number,
// password and a six-digit code sent by SMS, self-registration with the same three steps, and
// operator-created users.
//
// A sign-in or registration in progress is a storage.Flow bound to the browser that started it.
// One-time codes live in the flow only as HMAC-SHA256(key, flowID ":" code), and every
// single-use or limited step (consuming a code, counting a wrong try, replacing a code on
// resend) is a conditional update in the shared store, so any number of instances can serve
// any step. Passwords are NFKC-normalized and hashed with argon2id; bcrypt hashes of imported
// users are still accepted. Logs never hold a password, a code or a full phone number.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/outbox"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// amrPasswordSMS is the authentication methods reference of a password + SMS code sign-in
// (RFC 8176): a fresh slice on every call.
func amrPasswordSMS() []string { return []string{"pwd", "sms", "mfa"} }

// Argon2Params are argon2id's cost parameters. Memory is in KiB.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// Argon2id defaults: OWASP's first choice, 19 MiB, two passes, one lane.
const (
	defaultArgon2Memory  = 19 * 1024
	defaultArgon2Time    = 2
	defaultArgon2Threads = 1
	defaultArgon2SaltLen = 16
	defaultArgon2KeyLen  = 32
)

// Config configures an Authenticator. Zero fields take the defaults named beside them.
type Config struct {
	ProductName         string        // default "otpidp"; in SMS texts and the password context blocklist
	OriginHost          string        // required: host of the issuer, for the SMS line "@host #123456"
	DefaultRegion       string        // region for national phone input, e.g. "US"; empty: E.164 only
	CodeTTL             time.Duration // default 5m; at most 10m
	MaxCodeAttempts     int           // default 5
	ResendInterval      time.Duration // default 30s
	FlowTTL             time.Duration // default 15m
	Argon2              Argon2Params  // default {19 MiB, 2, 1, 16, 32}; zero fields take the default
	MaxConcurrentHashes int           // default 2*GOMAXPROCS
	Limits              Limits        // abuse limits (limits.go); zero fields take their defaults
	ResetSMSOnly        bool          // password reset with the SMS code alone (weaker); default: SMS code + recovery code
	SMSTemplate         string        // default: the built-in texts; see sms.ValidateTemplate
}

const (
	defaultProductName    = "otpidp"
	defaultCodeTTL        = 5 * time.Minute
	maxCodeTTL            = 10 * time.Minute
	defaultMaxAttempts    = 5
	defaultResendInterval = 30 * time.Second
	defaultFlowTTL        = 15 * time.Minute

	// hmacSecretName names the server secret that keys code hashes.
	hmacSecretName = "otp-hmac"
	hmacKeyLen     = 32
)

func (c Config) withDefaults() Config {
	if c.ProductName == "" {
		c.ProductName = defaultProductName
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = defaultCodeTTL
	}
	if c.MaxCodeAttempts == 0 {
		c.MaxCodeAttempts = defaultMaxAttempts
	}
	if c.ResendInterval == 0 {
		c.ResendInterval = defaultResendInterval
	}
	if c.FlowTTL == 0 {
		c.FlowTTL = defaultFlowTTL
	}
	if c.Argon2.Memory == 0 {
		c.Argon2.Memory = defaultArgon2Memory
	}
	if c.Argon2.Time == 0 {
		c.Argon2.Time = defaultArgon2Time
	}
	if c.Argon2.Threads == 0 {
		c.Argon2.Threads = defaultArgon2Threads
	}
	if c.Argon2.SaltLen == 0 {
		c.Argon2.SaltLen = defaultArgon2SaltLen
	}
	if c.Argon2.KeyLen == 0 {
		c.Argon2.KeyLen = defaultArgon2KeyLen
	}
	if c.MaxConcurrentHashes == 0 {
		c.MaxConcurrentHashes = 2 * runtime.GOMAXPROCS(0)
	}
	c.Limits = c.Limits.WithDefaults()
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.OriginHost == "" {
		errs = append(errs, errors.New("OriginHost is required"))
	}
	if c.CodeTTL < 0 || c.CodeTTL > maxCodeTTL {
		errs = append(errs, fmt.Errorf("CodeTTL %s must be positive and at most %s", c.CodeTTL, maxCodeTTL))
	}
	if c.MaxCodeAttempts < 0 {
		errs = append(errs, fmt.Errorf("MaxCodeAttempts %d must be positive", c.MaxCodeAttempts))
	}
	if c.ResendInterval < 0 {
		errs = append(errs, fmt.Errorf("ResendInterval %s must be positive", c.ResendInterval))
	}
	if c.FlowTTL < 0 {
		errs = append(errs, fmt.Errorf("FlowTTL %s must be positive", c.FlowTTL))
	}
	if c.MaxConcurrentHashes < 0 {
		errs = append(errs, fmt.Errorf("MaxConcurrentHashes %d must be positive", c.MaxConcurrentHashes))
	}
	if err := c.Argon2.check(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Limits.Problems()...)
	if len(errs) > 0 {
		return fmt.Errorf("auth: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// Option changes an Authenticator's dependencies; tests use them.
type Option func(*Authenticator)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(a *Authenticator) { a.now = now } }

// WithRand sets the source of codes, salts, IDs and keys (default crypto/rand.Reader). It must
// be a cryptographically secure generator in production; it need not be safe for concurrent
// use.
func WithRand(r io.Reader) Option { return func(a *Authenticator) { a.rand = r } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(a *Authenticator) { a.log = l } }

// Authenticator signs users in and registers them. It is safe for concurrent use; all state
// that matters lives in the store.
type Authenticator struct {
	store  storage.Storage
	sender sms.Sender
	cfg    Config
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger

	hmacKey   []byte
	dummyHash string        // verified against for unknown phones, so they cost the same
	hashSem   chan struct{} // bounds concurrent password hashing (PH-06)
	hashCalls atomic.Int64  // password hashes computed; tests observe it

	texts    *sms.Texts    // the SMS texts (verify.go)
	verifier CodeVerifier  // nil: otpidp makes and checks codes (verify.go)
	queue    *outbox.Queue // nil: reset and registration texts are sent during the request (outbox.go)

	limiter  *limits.Limiter // the window limits of Config.Limits (limits.go)
	auditLog *audit.Log      // the audit log (audit.go)
}

// New returns an Authenticator. It fills cfg's defaults, fetches (or creates) the shared key
// for code hashes from the store, and precomputes the dummy password hash.
func New(ctx context.Context, store storage.Storage, sender sms.Sender, cfg Config, opts ...Option) (*Authenticator, error) {
	if store == nil || sender == nil {
		return nil, errors.New("auth: store and sender are required")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		store:  store,
		sender: sender,
		cfg:    cfg,
		now:    time.Now,
		rand:   rand.Reader,
		log:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(a)
	}
	if a.now == nil || a.rand == nil || a.log == nil {
		return nil, errors.New("auth: nil clock, random reader or logger")
	}
	if a.rand != rand.Reader {
		// An injected reader (a seeded one in tests) need not be safe for concurrent use.
		a.rand = &lockedReader{r: a.rand}
	}
	a.hashSem = make(chan struct{}, cfg.MaxConcurrentHashes)
	a.limiter = limits.New(store, cfg.Limits.Rates())
	a.auditLog = audit.New(store, a.clock, a.log)
	if err := a.initTexts(); err != nil {
		return nil, err
	}

	fresh := make([]byte, hmacKeyLen)
	if _, err := io.ReadFull(a.rand, fresh); err != nil {
		return nil, fmt.Errorf("auth: generate code key: %w", err)
	}
	key, err := store.Secret(ctx, hmacSecretName, fresh)
	if err != nil {
		return nil, fmt.Errorf("auth: get secret %q: %w", hmacSecretName, err)
	}
	if len(key) < hmacKeyLen {
		return nil, fmt.Errorf("auth: secret %q has %d bytes, want at least %d", hmacSecretName, len(key), hmacKeyLen)
	}
	a.hmacKey = key

	dummy := make([]byte, 32)
	if _, err := io.ReadFull(a.rand, dummy); err != nil {
		return nil, fmt.Errorf("auth: generate dummy password: %w", err)
	}
	a.dummyHash, err = a.hashNormalized(ctx, string(dummy))
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	return a, nil
}

// lockedReader serializes reads from a reader that may not be safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// clock returns the current time in UTC.
func (a *Authenticator) clock() time.Time { return a.now().UTC() }
