package signin

import (
	"context"
	"crypto/sha256"
	"errors"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/storage"
)

// The device decision (RFC 8628 §3.3): the user types the code a TV or command-line tool
// shows, signs in as usual if needed, sees which app asks and approves or denies. Codes typed
// wrong are limited per client IP, so the 20^8 user codes cannot be searched.

// UserCode returns the typed user code as it is shown (XXXX-XXXX), and whether it is a
// well-formed code at all.
func (c *Core) UserCode(typed string) (string, bool) {
	code, ok := storage.NormalizeUserCode(typed)
	if !ok {
		return "", false
	}
	return code[:storage.UserCodeLength/2] + "-" + code[storage.UserCodeLength/2:], true
}

// deviceRequest finds the live, undecided request of the typed code. A code that finds none
// counts against the IP's limit (*authflow.LimitError with ScopeDeviceCode when over it);
// authflow.ErrDeviceNotFound when none has the code.
func (c *Core) deviceRequest(ctx context.Context, typed string) (storage.DeviceAuthorization, string, error) {
	now := c.now()
	hit := limits.DeviceCode(ctx)
	refusal, err := c.limits.Take(ctx, now, hit)
	if err != nil {
		return storage.DeviceAuthorization{}, "", err
	}
	if refusal != nil {
		c.cfg.Logger.WarnContext(ctx, "device codes refused by the rate limit", "limit", string(refusal.Name), "max", refusal.Max)
		return storage.DeviceAuthorization{}, "", &authflow.LimitError{Scope: authflow.ScopeDeviceCode, RetryAfter: refusal.RetryAfter}
	}
	code, ok := storage.NormalizeUserCode(typed)
	var d storage.DeviceAuthorization
	if ok {
		sum := sha256.Sum256([]byte(code))
		d, err = c.store.GetDeviceAuthorizationByUserCode(ctx, sum[:], now)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return d, "", err
		}
		ok = err == nil
	}
	if !ok {
		c.cfg.Logger.InfoContext(ctx, "device code not found")
		return d, "", authflow.ErrDeviceNotFound
	}
	// A code that was right does not count against the limit.
	if err := c.limits.Untake(ctx, now, hit); err != nil {
		c.cfg.Logger.WarnContext(ctx, "give back a device code attempt", "error", err)
	}
	return d, code, nil
}

// DeviceRequest finds the device authorization of the typed user code, for the page that asks
// the user to approve it: *authflow.LimitError when this network typed too many wrong codes,
// authflow.ErrDeviceNotFound when no live, undecided request has it.
func (c *Core) DeviceRequest(ctx context.Context, typed string) (authflow.DeviceRequest, error) {
	d, code, err := c.deviceRequest(ctx, typed)
	if err != nil {
		return authflow.DeviceRequest{}, err
	}
	cl, err := c.store.GetClient(ctx, d.ClientID)
	if err != nil {
		return authflow.DeviceRequest{}, err
	}
	return authflow.DeviceRequest{UserCode: code, ClientName: cl.Name, Scopes: d.Scopes}, nil
}

// DecideDevice records the signed-in user's answer to the device authorization of the typed
// code: authflow.ErrNotSignedIn without a session, the errors of DeviceRequest, and
// authflow.ErrDeviceExpired when it expired or was decided meanwhile.
func (c *Core) DecideDevice(ctx context.Context, typed string, approve bool) error {
	s, signedIn := c.session(ctx)
	if !signedIn {
		return authflow.ErrNotSignedIn
	}
	d, _, err := c.deviceRequest(ctx, typed)
	if err != nil {
		return err
	}
	err = c.store.DecideDeviceAuthorization(ctx, d.ID, approve, s.UserID, s.AuthTime.UTC(), s.AMR, c.now())
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return authflow.ErrDeviceExpired
	}
	if err != nil {
		return err
	}
	c.cfg.Logger.InfoContext(ctx, "device authorization decided", "user_id", s.UserID, "client_id", d.ClientID, "approved", approve)
	return nil
}
