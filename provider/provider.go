package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/storage"
)

// Config configures the provider. Zero durations take the defaults in brackets.
type Config struct {
	Issuer             string        // exactly as published in discovery
	LoginPath          string        // ["/login"] where authorization requests are sent to sign in
	ConsentPath        string        // ["/consent"] where users are asked for consent
	AccessTokenTTL     time.Duration // [15m]
	IDTokenTTL         time.Duration // [1h]
	CodeTTL            time.Duration // [60s] authorization codes
	AuthRequestTTL     time.Duration // [30m] from /authorize to the code
	RefreshIdleTTL     time.Duration // [30 days]
	RefreshAbsoluteTTL time.Duration // [90 days]
	// RefreshGrace [30s]: a rotated refresh token presented again by its client within this
	// time gets a new pair instead of revoking its family (concurrent refreshes); < 0: none.
	RefreshGrace       time.Duration
	KeyCacheTTL        time.Duration // [1m] how long an instance may sign with a key it read
	KeyRotation        time.Duration // [30 days] a new signing key this long after the last; < 0: never on schedule
	KeyLeadTime        time.Duration // [24h] how long a new key is published before it signs (≥ relying parties' JWKS cache)
	ClientCacheTTL     time.Duration // [5s]
	DeviceCodeTTL      time.Duration // [10m] device authorizations (RFC 8628)
	DevicePollInterval time.Duration // [5s] how often devices may poll
	DevicePath         string        // ["/device"] where users type a device's user code
	// UILocales are the languages the sign-in pages speak (BCP 47), the default first:
	// discovery's ui_locales_supported. [en]
	UILocales []string
	// JWKSAllowLoopback lets clients' jwks_uri be fetched from loopback addresses (a
	// development issuer on this machine). Private, link-local and other non-public
	// addresses are refused regardless.
	JWKSAllowLoopback bool
	// Authorize bounds the authorization endpoint: requests per client IP, and pending
	// requests per client IP (authorizebounds.go). Zero fields take the defaults.
	Authorize AuthorizeLimits

	// SignIn is the sign-in core (provider/signin): it binds authorization requests to the
	// request's browser, ends its session (RP-initiated logout) and decides what an
	// authorization request needs next. Nil: no browser, no session, every callback refused.
	SignIn SignIn

	Now    func() time.Time
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.LoginPath == "" {
		c.LoginPath = "/login"
	}
	if c.ConsentPath == "" {
		c.ConsentPath = "/consent"
	}
	def(&c.AccessTokenTTL, 15*time.Minute)
	def(&c.IDTokenTTL, time.Hour)
	def(&c.CodeTTL, 60*time.Second)
	def(&c.AuthRequestTTL, 30*time.Minute)
	def(&c.RefreshIdleTTL, 30*24*time.Hour)
	def(&c.RefreshAbsoluteTTL, 90*24*time.Hour)
	if c.RefreshGrace == 0 {
		c.RefreshGrace = DefaultRefreshGrace
	}
	if len(c.UILocales) == 0 {
		c.UILocales = []string{"en"}
	}
	def(&c.KeyCacheTTL, time.Minute)
	if c.KeyRotation == 0 {
		c.KeyRotation = 30 * 24 * time.Hour
	}
	def(&c.KeyLeadTime, 24*time.Hour)
	def(&c.ClientCacheTTL, 5*time.Second)
	def(&c.DeviceCodeTTL, 10*time.Minute)
	def(&c.DevicePollInterval, 5*time.Second)
	if c.DevicePath == "" {
		c.DevicePath = "/device"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SignIn == nil {
		c.SignIn = noSignIn{}
	}
}

// DefaultRefreshGrace is the refresh token grace period when Config.RefreshGrace is zero.
const DefaultRefreshGrace = 30 * time.Second

// SignIn is what the provider needs of the sign-in core; *signin.Core satisfies it.
type SignIn interface {
	// BrowserHash is the hash of the browser-binding cookie of the request whose context ctx
	// is (nil when none). Authorization requests are bound to it.
	BrowserHash(ctx context.Context) []byte
	// EndSession ends the browser session of the request whose context ctx is.
	EndSession(ctx context.Context) error
	// Authorize loads the authorization request of the callback and says what it needs next
	// (authflow.ErrRequestExpired when it is unknown, expired or already has a code).
	Authorize(ctx context.Context, id string, consentDenied bool) (storage.AuthRequest, authflow.Step, error)
	// Silent decides a prompt=none request at /authorize by the request's session cookie
	// alone, before any browser binding: authflow.StepLoginRequired when no session answers
	// it, else authflow.StepContinue (the sign-in page completes it as usual).
	Silent(ctx context.Context, a storage.AuthRequest) (authflow.Step, error)
}

// noSignIn is the SignIn of a provider without pages.
type noSignIn struct{}

func (noSignIn) BrowserHash(context.Context) []byte { return nil }
func (noSignIn) EndSession(context.Context) error   { return nil }
func (noSignIn) Silent(context.Context, storage.AuthRequest) (authflow.Step, error) {
	return authflow.StepLoginRequired, nil
}
func (noSignIn) Authorize(context.Context, string, bool) (storage.AuthRequest, authflow.Step, error) {
	return storage.AuthRequest{}, 0, authflow.ErrRequestExpired
}

// Provider is the OpenID provider: an http.Handler for the protocol endpoints.
type Provider struct {
	op      *op.Provider
	storage *opStorage
	signIn  SignIn
	issuer  string
	handler http.Handler

	clientKeys *clientKeyCache // private_key_jwt clients' keys fetched from their jwks_uri
	authorize  *authorizeBounds
}

// Secret names in the store.
const secretNameTokenKey = "token-aes-gcm"

// New builds the provider on store. It creates the first signing key and the server secrets if
// the store has none yet (safely, when several instances start at once).
func New(ctx context.Context, store storage.Storage, cfg Config) (*Provider, error) {
	cfg.setDefaults()
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("issuer %q is not an absolute http(s) URL", cfg.Issuer)
	}
	secret, err := clientSecretKey(ctx, store)
	if err != nil {
		return nil, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	tokenKey, err := store.Secret(ctx, secretNameTokenKey, fresh)
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	if len(tokenKey) != 32 {
		return nil, errors.New("token key: stored secret is not 32 bytes")
	}
	k := &keys{store: store, now: cfg.Now, ttl: cfg.KeyCacheTTL}
	if err := k.ensure(ctx); err != nil {
		return nil, err
	}
	if err := EnsureIDTokenKeys(ctx, store, cfg.Now); err != nil {
		return nil, err
	}
	if err := k.ensureAlg(ctx, accessTokenAlgorithm); err != nil {
		return nil, err
	}
	st := &opStorage{store: store, cfg: cfg, keys: k, log: cfg.Logger, secret: secret, clients: map[string]cachedClient{}, profiles: map[string]cachedProfile{},
		jwt: &jwtAccess{keys: k, now: cfg.Now}}
	st.audit = audit.New(store, st.now, cfg.Logger)
	var key [32]byte
	copy(key[:], tokenKey)
	p, err := newOP(cfg, st, key, u.Scheme == "http")
	if err != nil {
		return nil, err
	}
	prov := &Provider{op: p, storage: st, signIn: cfg.SignIn, issuer: cfg.Issuer, authorize: newAuthorizeBounds(cfg.Authorize),
		clientKeys: &clientKeyCache{http: newJWKSHTTPClient(cfg.JWKSAllowLoopback || isLoopbackHost(u.Hostname())), now: cfg.Now, sets: map[string]fetchedKeys{}}}
	prov.handler = prov.wrap(prov.routes())
	return prov, nil
}

// Handler serves the protocol endpoints.
func (p *Provider) Handler() http.Handler { return p.handler }

// IssuerInterceptor puts the issuer in the request context; the login pages must be wrapped in
// it so they can build callback URLs.
func (p *Provider) IssuerInterceptor(next http.Handler) http.Handler {
	return op.NewIssuerInterceptor(p.op.IssuerFromRequest).Handler(next)
}

// CallbackURL is where the login pages send the browser once the user has authenticated for an
// authorization request.
func (p *Provider) CallbackURL(ctx context.Context, authRequestID string) string {
	return op.AuthCallbackURL(p.op)(ctx, authRequestID)
}

// CallbackPath is the path of the authorization callback.
func (p *Provider) CallbackPath() string {
	return p.op.AuthorizationEndpoint().Relative() + "/callback"
}

// Endpoints are the paths of the provider's endpoints, for the composition root.
type Endpoints struct {
	Discovery, Keys                     string
	Authorize, Callback, EndSession     string // browser-facing
	Token, Introspect, Revoke, Userinfo string
	DeviceAuthorization                 string
}

// Endpoints returns the paths the provider serves; cmd/otpidp/routes.go mounts each.
func (p *Provider) Endpoints() Endpoints {
	return Endpoints{
		Discovery:           oidc.DiscoveryEndpoint,
		Keys:                p.op.KeysEndpoint().Relative(),
		Authorize:           p.op.AuthorizationEndpoint().Relative(),
		Callback:            p.CallbackPath(),
		EndSession:          p.op.EndSessionEndpoint().Relative(),
		Token:               p.op.TokenEndpoint().Relative(),
		Introspect:          p.op.IntrospectionEndpoint().Relative(),
		Revoke:              p.op.RevocationEndpoint().Relative(),
		Userinfo:            p.op.UserinfoEndpoint().Relative(),
		DeviceAuthorization: DeviceAuthorizationPath,
	}
}
