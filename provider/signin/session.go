package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// A browser gets a new binding-cookie value at every step up (SES-02): after the password step
// (a sign-in or registration now has a flow waiting for its code), after the code (the browser
// is signed in) and after a reset's codes (the flow may now set a password). Everything the old
// value held, flows and authorization requests, is re-bound to the new one in one conditional
// update, so a value copied or planted before the step gets nothing afterwards: not the code
// page, not the callback to the app, not the new-password page. The session cookie is separate
// and new after every sign-in (StartSession).

// NewToken is a fresh cookie value: 32 random bytes, base64url.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// BrowserHash is the hash of the browser-binding cookie of the request whose context ctx is
// (nil outside the pages). Authorization requests are bound to it.
func (c *Core) BrowserHash(ctx context.Context) []byte { return reqinfo.From(ctx).BrowserHash }

// boundTo reports whether hash is the request's browser.
func boundTo(ctx context.Context, hash []byte) bool {
	return len(hash) > 0 && subtle.ConstantTimeCompare(hash, reqinfo.From(ctx).BrowserHash) == 1
}

// RotateBrowser moves what the request's binding value holds to a new value, which it returns
// for the cookie. flowID, when set, must still be bound to the old value: of two concurrent
// steps of one flow only one re-binds it (authflow.ErrFlowNotFound for the other).
func (c *Core) RotateBrowser(ctx context.Context, flowID string) (string, error) {
	value := NewToken()
	err := c.store.RebindBrowser(ctx, reqinfo.From(ctx).BrowserHash, authflow.HashToken(value), flowID)
	switch {
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		return "", authflow.ErrFlowNotFound
	case err != nil:
		return "", err
	}
	return value, nil
}

// session returns the request's valid session and records activity (the idle expiry moves,
// never past the absolute one).
func (c *Core) session(ctx context.Context) (storage.Session, bool) {
	hash := reqinfo.From(ctx).SessionHash
	if len(hash) == 0 {
		return storage.Session{}, false
	}
	now := c.now()
	s, err := c.store.GetSessionByHash(ctx, hash, now)
	if err != nil {
		return storage.Session{}, false
	}
	idle := now.Add(c.cfg.SessionIdleTTL)
	if idle.After(s.ExpiresAt) {
		idle = s.ExpiresAt
	}
	if err := c.store.TouchSession(ctx, s.ID, now, idle); err != nil {
		c.cfg.Logger.WarnContext(ctx, "touch session", "error", err)
	}
	return s, true
}

func sessionView(s storage.Session) authflow.Session {
	return authflow.Session{ID: s.ID, UserID: s.UserID, AuthTime: s.AuthTime, AMR: s.AMR}
}

// Session returns the request's valid session, recording activity.
func (c *Core) Session(ctx context.Context) (authflow.Session, bool) {
	s, ok := c.session(ctx)
	return sessionView(s), ok
}

// StartSession replaces any session of this browser with a new one for res (a new value after
// every sign-in); the caller sets its cookie.
func (c *Core) StartSession(ctx context.Context, res authflow.Result, userAgent string) (authflow.NewSession, error) {
	if old, ok := c.session(ctx); ok {
		_ = c.store.DeleteSession(ctx, old.ID)
	}
	value := NewToken()
	hash := authflow.HashToken(value)
	now := c.now()
	s := storage.Session{
		ID: hex.EncodeToString(hash[:16]), TokenHash: hash, UserID: res.UserID, AuthTime: res.AuthTime.UTC(), AMR: res.AMR,
		UserAgent: truncate(userAgent, 200), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(c.cfg.SessionTTL), IdleExpiresAt: now.Add(c.cfg.SessionIdleTTL),
	}
	if err := c.store.CreateSession(ctx, s); err != nil {
		return authflow.NewSession{}, fmt.Errorf("create session: %w", err)
	}
	return authflow.NewSession{Session: sessionView(s), Token: value, MaxAge: c.cfg.SessionTTL}, nil
}

// EndSession deletes the session of the request whose context ctx is, if any (sign-out, the
// password step, RP-initiated logout; the cookie then points at nothing).
func (c *Core) EndSession(ctx context.Context) error {
	hash := reqinfo.From(ctx).SessionHash
	if len(hash) == 0 {
		return nil
	}
	s, err := c.store.GetSessionByHash(ctx, hash, c.now())
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.store.DeleteSession(ctx, s.ID)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
