package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/storage"
)

// An account's life beyond signing in: disabling, enabling and deleting it, new recovery codes
// and ending sessions for someone other than the user (the operator's command line; the
// account page's own deletion uses DeleteUser too). actor is who asked, recorded as the audit
// event's detail: audit.ActorOperator or audit.ActorUser.

// ErrNoUser: no user has that ID (it never existed, or was deleted).
var ErrNoUser = errors.New("signin: no such user")

// ErrNoSession: no session has that ID.
var ErrNoSession = errors.New("signin: no such session")

var timeZero time.Time

func (c *Core) user(ctx context.Context, userID string) (storage.User, error) {
	u, err := c.store.GetUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, ErrNoUser
	}
	return u, err
}

// DisableUser stops the user from signing in: the password step then refuses it like a wrong
// password, and sends no text. Every session of the user ends and every token is revoked, at
// once, on every instance (ACC-01).
func (c *Core) DisableUser(ctx context.Context, userID, actor string) (storage.User, error) {
	u, err := c.user(ctx, userID)
	if err != nil {
		return u, err
	}
	now := c.now()
	if !u.Disabled() {
		if err := c.store.SetUserDisabled(ctx, userID, now, now); err != nil {
			return u, mapNoUser(err)
		}
		u.DisabledAt, u.UpdatedAt = now, now
	}
	if err := c.store.DeleteUserSessions(ctx, userID); err != nil {
		return u, fmt.Errorf("signin: disable user: end sessions: %w", err)
	}
	if err := c.store.RevokeUserTokens(ctx, userID, "", now); err != nil {
		return u, fmt.Errorf("signin: disable user: revoke tokens: %w", err)
	}
	c.cfg.Logger.InfoContext(ctx, "user disabled", "user_id", userID, "by", actor)
	c.audit.Record(ctx, audit.Entry{Event: audit.UserDisabled, UserID: userID, Detail: actor})
	return u, nil
}

// EnableUser lets a disabled user sign in again (with the same password and recovery codes).
func (c *Core) EnableUser(ctx context.Context, userID, actor string) (storage.User, error) {
	u, err := c.user(ctx, userID)
	if err != nil {
		return u, err
	}
	now := c.now()
	if err := c.store.SetUserDisabled(ctx, userID, timeZero, now); err != nil {
		return u, mapNoUser(err)
	}
	u.DisabledAt, u.UpdatedAt = timeZero, now
	c.cfg.Logger.InfoContext(ctx, "user enabled", "user_id", userID, "by", actor)
	c.audit.Record(ctx, audit.Entry{Event: audit.UserEnabled, UserID: userID, Detail: actor})
	return u, nil
}

// DeleteUser deletes the account (ACC-02): its name, phone number, password hash and recovery
// codes are gone, every session ends, every token and consent is revoked, the number can
// register again and the ID (the sub) is never given to anyone else. The audit log keeps the
// account's events under the pseudonymous ID.
func (c *Core) DeleteUser(ctx context.Context, userID, actor string) error {
	if err := c.store.DeleteUser(ctx, userID, c.now()); err != nil {
		return mapNoUser(err)
	}
	c.cfg.Logger.InfoContext(ctx, "user deleted", "user_id", userID, "by", actor)
	c.audit.Record(ctx, audit.Entry{Event: audit.UserDeleted, UserID: userID, Detail: actor})
	return nil
}

// IssueRecoveryCodes replaces the user's recovery codes with a fresh set and returns it (shown
// once): how a user an operator created, who never saw codes, can reset a forgotten password.
func (c *Core) IssueRecoveryCodes(ctx context.Context, userID, actor string) ([]string, error) {
	if _, err := c.user(ctx, userID); err != nil {
		return nil, err
	}
	return c.auth.GenerateRecoveryCodesBy(ctx, userID, actor)
}

// EndSessionByID ends one session, whoever's it is, and returns it.
func (c *Core) EndSessionByID(ctx context.Context, sessionID, actor string) (storage.Session, error) {
	ss, err := c.store.GetSession(ctx, sessionID)
	if errors.Is(err, storage.ErrNotFound) {
		return ss, ErrNoSession
	} else if err != nil {
		return ss, err
	}
	if err := c.store.DeleteSession(ctx, sessionID); err != nil {
		return ss, err
	}
	c.cfg.Logger.InfoContext(ctx, "session ended", "user_id", ss.UserID, "by", actor)
	c.audit.Record(ctx, audit.Entry{Event: audit.SessionEnded, UserID: ss.UserID, Detail: actor})
	return ss, nil
}

// EndUserSessions ends every session of the user and returns how many were live.
func (c *Core) EndUserSessions(ctx context.Context, userID, actor string) (int, error) {
	if _, err := c.user(ctx, userID); err != nil {
		return 0, err
	}
	live, err := c.store.ListSessions(ctx, storage.SessionQuery{UserID: userID}, c.now())
	if err != nil {
		return 0, err
	}
	if err := c.store.DeleteUserSessions(ctx, userID); err != nil {
		return 0, err
	}
	c.cfg.Logger.InfoContext(ctx, "sessions ended", "user_id", userID, "count", len(live), "by", actor)
	c.audit.Record(ctx, audit.Entry{Event: audit.SessionEnded, UserID: userID, Detail: actor + ": all"})
	return len(live), nil
}

func mapNoUser(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoUser
	}
	return err
}
