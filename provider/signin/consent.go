package signin

import (
	"context"
	"errors"
	"slices"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/storage"
)

// consentRequest loads the authorization request a consent page serves: live, signed in for,
// no code yet, started by this browser, and by the user of this browser's session.
func (c *Core) consentRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	a, err := c.store.GetAuthRequest(ctx, id)
	if err != nil || !a.ExpiresAt.After(c.now()) || !a.Done() || !a.CodeExpiresAt.IsZero() {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return a, err
		}
		return a, authflow.ErrRequestExpired
	}
	s, signedIn := c.session(ctx)
	if !boundTo(ctx, a.BrowserHash) || !signedIn || s.UserID != a.UserID {
		return a, authflow.ErrOtherBrowser
	}
	if _, err := c.store.GetClient(ctx, a.ClientID); err != nil {
		return a, err
	}
	return a, nil
}

// ConsentRequest returns the request a consent page asks about (authflow.ErrRequestExpired,
// authflow.ErrOtherBrowser).
func (c *Core) ConsentRequest(ctx context.Context, id string) (authflow.AuthRequest, error) {
	a, err := c.consentRequest(ctx, id)
	if err != nil {
		return authflow.AuthRequest{}, err
	}
	return c.requestView(ctx, a), nil
}

// Consent records the user's answer to the request's consent page. A "yes" is remembered for
// the requested scopes, added to those consented before; a "no" records nothing (the provider
// answers access_denied).
func (c *Core) Consent(ctx context.Context, id string, allow bool) error {
	a, err := c.consentRequest(ctx, id)
	if err != nil || !allow {
		return err
	}
	scopes := slices.Clone(a.Scopes)
	if old, err := c.store.GetConsent(ctx, a.UserID, a.ClientID); err == nil {
		for _, s := range old.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	err = c.store.SaveConsent(ctx, storage.Consent{UserID: a.UserID, ClientID: a.ClientID, Scopes: scopes, GrantedAt: c.now()})
	if err != nil {
		return err
	}
	c.cfg.Logger.InfoContext(ctx, "consent given", "user_id", a.UserID, "client_id", a.ClientID, "scopes", a.Scopes)
	return nil
}
