package signin

import (
	"context"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/phone"
)

// The account page's store work: what it shows, and "sign out this device" and "remove this
// app", which (like new recovery codes) need a sign-in within RecentAuth (SES-08).

// recent reports whether the session's sign-in is fresh enough for a sensitive change.
func (c *Core) recent(s authflow.Session) bool {
	return c.cfg.Now().Sub(s.AuthTime) <= c.cfg.RecentAuth
}

// Account returns what the account page shows of the session's user.
func (c *Core) Account(ctx context.Context, s authflow.Session) (authflow.Account, error) {
	usr, err := c.store.GetUser(ctx, s.UserID)
	if err != nil {
		return authflow.Account{}, err
	}
	v := authflow.Account{Name: usr.Name, Phone: usr.Phone, MaskedPhone: phone.Mask(usr.Phone)}
	if v.CodesLeft, err = c.auth.RecoveryCodesLeft(ctx, usr.ID); err != nil {
		return v, err
	}
	now := c.now()
	sessions, err := c.store.ListUserSessions(ctx, usr.ID, now)
	if err != nil {
		return v, err
	}
	for i := len(sessions) - 1; i >= 0; i-- { // newest first
		ss := sessions[i]
		v.Devices = append(v.Devices, authflow.Device{ID: ss.ID, UserAgent: ss.UserAgent, LastSeenAt: ss.LastSeenAt, Current: ss.ID == s.ID})
	}
	grants, err := c.store.ListUserGrants(ctx, usr.ID, now)
	if err != nil {
		return v, err
	}
	for _, g := range grants {
		a := authflow.App{ClientID: g.ClientID, Name: g.ClientID, Since: g.FirstAt}
		if cl, err := c.store.GetClient(ctx, g.ClientID); err == nil {
			a.Name = cl.Name
		}
		v.Apps = append(v.Apps, a)
	}
	return v, nil
}

// EndDevice signs out one of the user's sessions; ended is true when it was this one.
// Signing out another device needs a recent sign-in (authflow.ErrStaleSignIn); an ID that is
// not one of the user's own sessions changes nothing.
func (c *Core) EndDevice(ctx context.Context, s authflow.Session, sessionID string) (ended bool, err error) {
	if sessionID != s.ID && !c.recent(s) { // signing yourself out needs no fresh sign-in
		return false, authflow.ErrStaleSignIn
	}
	sessions, err := c.store.ListUserSessions(ctx, s.UserID, c.now())
	if err != nil {
		return false, err
	}
	for _, ss := range sessions {
		if ss.ID != sessionID {
			continue
		}
		if err := c.store.DeleteSession(ctx, ss.ID); err != nil {
			return false, err
		}
		c.cfg.Logger.InfoContext(ctx, "device signed out from the account page", "user_id", s.UserID)
		detail := "another device"
		if ss.ID == s.ID {
			detail = "this device"
		}
		c.audit.Record(ctx, audit.Entry{Event: audit.SessionEnded, UserID: s.UserID, Detail: detail})
		return ss.ID == s.ID, nil
	}
	return false, nil
}

// RemoveApp revokes every token the client holds for the session's user; it needs a recent
// sign-in (authflow.ErrStaleSignIn).
func (c *Core) RemoveApp(ctx context.Context, s authflow.Session, clientID string) error {
	if !c.recent(s) {
		return authflow.ErrStaleSignIn
	}
	if err := c.store.RevokeUserTokens(ctx, s.UserID, clientID, c.now()); err != nil {
		return err
	}
	c.cfg.Logger.InfoContext(ctx, "app access removed", "user_id", s.UserID, "client_id", clientID)
	c.audit.Record(ctx, audit.Entry{Event: audit.AppRemoved, UserID: s.UserID, ClientID: clientID})
	return nil
}
