package provider

import (
	"crypto/rand"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/provider/oautherr"
	"github.com/otpidp/otpidp/storage"
)

// The device authorization grant (RFC 8628), for TVs and command-line tools. The device asks
// /device_authorization for a device code and a user code; the user types the user code at
// DevicePath (ui), signs in as usual and approves or denies; meanwhile the device polls the
// token endpoint with its device code. Both codes are stored only as SHA-256 hashes. otpidp
// serves both endpoints itself rather than through zitadel/oidc, whose device endpoints do not
// authenticate client_secret_post clients, compare expiry with the wall clock rather than the
// provider's and cannot answer slow_down or refuse a second redemption.

// GrantDeviceCode is the device authorization grant type.
const GrantDeviceCode = string(oidc.GrantTypeDeviceCode)

// DeviceAuthorizationPath is the device authorization endpoint.
const DeviceAuthorizationPath = "/device_authorization"

// FormatUserCode shows a canonical user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != storage.UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

func newUserCode() (string, error) {
	b := make([]byte, storage.UserCodeLength)
	n := big.NewInt(int64(len(storage.UserCodeAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b[i] = storage.UserCodeAlphabet[v.Int64()]
	}
	return string(b), nil
}

// minPollGap is how soon after a poll the next one is answered slow_down: the interval, less a
// fifth for network jitter, so a device that waits the interval between polls never sees it.
func (c Config) minPollGap() time.Duration { return c.DevicePollInterval - c.DevicePollInterval/5 }

// authenticateDeviceClient authenticates the client of a device request: by HTTP Basic or by
// client_id and client_secret in the form (a verified private_key_jwt assertion arrives as the
// latter, see clientAssertions); a public client sends only its client_id. Every failure is
// invalid_client.
func (p *Provider) authenticateDeviceClient(r *http.Request) (storage.Client, *oidc.Error) {
	bad := oidc.ErrInvalidClient().WithDescription("client authentication failed")
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Get("client_secret") != "" {
			return storage.Client{}, oidc.ErrInvalidRequest().WithDescription("more than one client authentication method")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return storage.Client{}, bad
		}
		if f := r.PostForm.Get("client_id"); f != "" && f != id {
			return storage.Client{}, bad
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return storage.Client{}, bad
	}
	c, err := p.storage.client(r.Context(), id)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return storage.Client{}, bad
		}
		return storage.Client{}, oidc.ErrServerError().WithParent(err)
	}
	if c.Public {
		if secret != "" {
			return storage.Client{}, bad
		}
		return c, nil
	}
	if err := p.storage.AuthorizeClientIDSecret(r.Context(), id, secret); err != nil {
		return storage.Client{}, bad
	}
	return c, nil
}

// deviceError answers an OAuth error: 401 for invalid_client, 500 for server_error (logged
// with its cause), else 400.
func (p *Provider) deviceError(w http.ResponseWriter, r *http.Request, e *oidc.Error) {
	status := http.StatusBadRequest
	switch e.ErrorType {
	case oidc.InvalidClient:
		status = http.StatusUnauthorized
	case oidc.ServerError:
		status = http.StatusInternalServerError
		p.storage.log.ErrorContext(r.Context(), "device grant", "path", r.URL.Path, "error", e.Unwrap())
	}
	oautherr.Write(w, status, e)
}

// handleDeviceAuthorization serves the device authorization endpoint (RFC 8628 §3.1, §3.2).
func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oautherr.Write(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("the device authorization endpoint takes POST only"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.deviceError(w, r, oidc.ErrInvalidRequest().WithDescription("cannot parse the form"))
		return
	}
	c, oerr := p.authenticateDeviceClient(r)
	if oerr != nil {
		p.deviceError(w, r, oerr)
		return
	}
	if !slices.Contains(c.GrantTypes, GrantDeviceCode) {
		p.deviceError(w, r, oidc.ErrUnauthorizedClient().WithDescription("the client is not registered for the device grant"))
		return
	}
	var scopes []string
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		if !slices.Contains(supportedScopes, s) {
			p.deviceError(w, r, oidc.ErrInvalidScope().WithDescription("scope %q is not supported", s))
			return
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	cfg := p.storage.cfg
	deviceCode, err := randomToken()
	if err != nil {
		p.deviceError(w, r, oidc.ErrServerError().WithParent(err))
		return
	}
	now := p.storage.now()
	var userCode string
	for range 5 { // a user code of a live request may be drawn again: draw another
		id, err := randomHex(16)
		if err == nil {
			userCode, err = newUserCode()
		}
		if err == nil {
			err = p.storage.store.CreateDeviceAuthorization(r.Context(), storage.DeviceAuthorization{
				ID: id, DeviceCodeHash: hashValue(deviceCode), UserCodeHash: hashValue(userCode),
				ClientID: c.ID, Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(cfg.DeviceCodeTTL),
			})
		}
		if !errors.Is(err, storage.ErrAlreadyExists) {
			if err != nil {
				p.deviceError(w, r, oidc.ErrServerError().WithParent(err))
				return
			}
			break
		}
		userCode = ""
	}
	if userCode == "" {
		p.deviceError(w, r, oidc.ErrServerError().WithDescription("no free user code"))
		return
	}
	p.storage.log.InfoContext(r.Context(), "device authorization started", "client_id", c.ID, "scopes", scopes)
	verification := p.issuer + cfg.DevicePath
	w.Header().Set("Cache-Control", "no-store")
	httphelper.MarshalJSON(w, &oidc.DeviceAuthorizationResponse{
		DeviceCode:              deviceCode,
		UserCode:                FormatUserCode(userCode),
		VerificationURI:         verification,
		VerificationURIComplete: verification + "?user_code=" + url.QueryEscape(FormatUserCode(userCode)),
		ExpiresIn:               int(cfg.DeviceCodeTTL.Seconds()),
		Interval:                int(cfg.DevicePollInterval.Seconds()),
	})
}

// handleDeviceToken answers a device's poll (RFC 8628 §3.4, §3.5).
func (p *Provider) handleDeviceToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, oerr := p.authenticateDeviceClient(r)
	if oerr != nil {
		p.deviceError(w, r, oerr)
		return
	}
	if !slices.Contains(c.GrantTypes, GrantDeviceCode) {
		p.deviceError(w, r, oidc.ErrUnauthorizedClient().WithDescription("the client is not registered for the device grant"))
		return
	}
	code := r.PostForm.Get("device_code")
	if code == "" {
		p.deviceError(w, r, oidc.ErrInvalidRequest().WithDescription("device_code is required"))
		return
	}
	now := p.storage.now()
	d, early, err := p.storage.store.PollDeviceAuthorization(ctx, hashValue(code), p.storage.cfg.minPollGap(), now)
	if oerr := p.pollAnswer(r, c, d, early, err, now); oerr != nil {
		p.deviceError(w, r, oerr)
		return
	}
	switch err := p.storage.store.ConsumeDeviceAuthorization(ctx, d.ID, now); {
	case errors.Is(err, storage.ErrAlreadyUsed):
		p.deviceError(w, r, oidc.ErrInvalidGrant().WithDescription("the device code was already used"))
		return
	case errors.Is(err, storage.ErrConflict):
		p.deviceError(w, r, oidc.ErrExpiredDeviceCode())
		return
	case err != nil:
		p.deviceError(w, r, oidc.ErrServerError().WithParent(err))
		return
	}
	if _, err := p.storage.store.GetUser(ctx, d.UserID); err != nil {
		p.deviceError(w, r, oidc.ErrInvalidGrant().WithDescription("the user no longer exists"))
		return
	}
	client, err := p.storage.GetClientByClientID(ctx, c.ID)
	if err != nil {
		p.deviceError(w, r, oidc.ErrServerError().WithParent(err))
		return
	}
	state := &op.DeviceAuthorizationState{
		ClientID: c.ID, Scopes: d.Scopes, Expires: d.ExpiresAt, Done: true,
		Subject: d.UserID, AMR: d.AMR, AuthTime: d.AuthTime,
	}
	ctx = withDeviceFamily(ctx, d.ID)
	resp, err := op.CreateDeviceTokenResponse(ctx, state, p.exchanger(ctx), client)
	if err != nil {
		p.deviceError(w, r, oidc.DefaultToServerError(err, "cannot issue tokens"))
		return
	}
	p.storage.log.InfoContext(ctx, "device authorization redeemed", "client_id", c.ID, "user_id", d.UserID)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httphelper.MarshalJSON(w, resp)
}

// pollAnswer is the error a poll gets while the device code cannot be redeemed (RFC 8628
// §3.5); nil when the user approved it.
func (p *Provider) pollAnswer(r *http.Request, c storage.Client, d storage.DeviceAuthorization, early bool, err error, now time.Time) *oidc.Error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return oidc.ErrInvalidGrant().WithDescription("invalid device code")
	case err != nil:
		return oidc.ErrServerError().WithParent(err)
	case d.ClientID != c.ID:
		return oidc.ErrInvalidGrant().WithDescription("invalid device code")
	case !d.UsedAt.IsZero():
		p.storage.log.WarnContext(r.Context(), "device code presented again after its tokens were issued", "client_id", c.ID, "device_authorization_id", d.ID)
		return oidc.ErrInvalidGrant().WithDescription("the device code was already used")
	case !d.ExpiresAt.After(now):
		return oidc.ErrExpiredDeviceCode()
	case early:
		return oidc.ErrSlowDown().WithDescription("poll no more often than the interval, plus 5 seconds from now on")
	case !d.DeniedAt.IsZero():
		return oidc.ErrAccessDenied().WithDescription("the user denied the request")
	case d.ApprovedAt.IsZero():
		return oidc.ErrAuthorizationPending()
	}
	return nil
}
