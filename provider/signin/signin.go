// Package signin is otpidp's sign-in core, free of HTTP, in the manner of Dex's server/session:
// the pages (ui) and the provider call it and never touch the store's sessions, authorization
// requests, consents or device authorizations themselves. It owns
//
//   - the browser session and the browser binding (session.go): starting, touching, rotating
//     and ending sessions, and moving a browser's flows and requests to a new binding value;
//   - the authorization request (authrequest.go): completing it with the browser check, and
//     the one function (next) that says what a request needs next from prompt, max_age,
//     id_token_hint and consent;
//   - consent (consent.go), the device decision (device.go), and the account page's "sign out
//     this device" and "remove this app" (account.go);
//   - every authenticator (provider/auth) call the pages make (steps.go), so the pages talk to
//     one thing.
//
// Request-scoped values (the browser and session cookie hashes) come from provider/reqinfo;
// audit events go through provider/audit.
package signin

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/storage"
)

// Session lifetime defaults (the one place they are defined).
const (
	DefaultSessionTTL     = 24 * time.Hour   // absolute
	DefaultSessionIdleTTL = time.Hour        // unused
	DefaultRecentAuth     = 10 * time.Minute // how fresh a sign-in must be for sensitive account changes
)

// Config configures the core. Zero values take the defaults in brackets.
type Config struct {
	SessionTTL     time.Duration // [DefaultSessionTTL]
	SessionIdleTTL time.Duration // [DefaultSessionIdleTTL]
	RecentAuth     time.Duration // [DefaultRecentAuth] new recovery codes, ending another device, removing an app
	Now            func() time.Time
	Logger         *slog.Logger
}

// Core is the sign-in core.
type Core struct {
	cfg    Config
	store  storage.Storage
	auth   *auth.Authenticator
	audit  *audit.Log
	limits *limits.Limiter // the device page's wrong-code limit
}

// New returns the core on store, fronting authn.
func New(store storage.Storage, authn *auth.Authenticator, cfg Config) *Core {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.SessionIdleTTL <= 0 {
		cfg.SessionIdleTTL = DefaultSessionIdleTTL
	}
	if cfg.RecentAuth <= 0 {
		cfg.RecentAuth = DefaultRecentAuth
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Core{cfg: cfg, store: store, auth: authn, audit: audit.New(store, cfg.Now, cfg.Logger),
		limits: limits.New(store, nil)}
}

func (c *Core) now() time.Time { return c.cfg.Now().UTC() }

// SharedSecret returns the store's 32-byte secret of that name (shared by every instance),
// creating it on first use.
func (c *Core) SharedSecret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := c.store.Secret(ctx, name, fresh)
	if err != nil {
		return nil, err
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("secret %q is too short", name)
	}
	return key[:32], nil
}
