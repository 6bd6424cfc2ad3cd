package provider

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

// The authorization endpoint takes requests from anyone, and every request it accepts becomes
// a row in the store for AuthRequestTTL. Its bounds (SECURITY.md RL-12): the whole request (the
// query string, and a POST's body) is at most MaxAuthorizeBytes; each parameter has a length
// limit (authorizeParamLimits), refused with invalid_request; requests per client IP are
// limited (a token bucket in memory, per instance); and requests created from one address and
// not yet completed are capped (counted in the store, so on every instance).

// MaxAuthorizeBytes bounds an authorization request: its query string, and its body.
const MaxAuthorizeBytes = 16 << 10

// AuthorizeLimits are the authorization endpoint's rate limit and pending-request cap.
type AuthorizeLimits struct {
	// PerIP: authorization requests per client IP (IPv6: per /64), a token bucket of each
	// instance [120/1m]; a negative Max turns it off.
	PerIP limits.Rate
	// PendingPerIP: authorization requests from one client IP neither completed nor expired
	// [200]; negative: no cap.
	PendingPerIP int
}

// DefaultAuthorizeLimits are the defaults of AuthorizeLimits.
var DefaultAuthorizeLimits = AuthorizeLimits{PerIP: limits.Rate{Max: 120, Per: time.Minute}, PendingPerIP: 200}

func (l AuthorizeLimits) withDefaults() AuthorizeLimits {
	if l.PerIP.Max == 0 || l.PerIP.Per == 0 {
		l.PerIP = DefaultAuthorizeLimits.PerIP
	}
	if l.PendingPerIP == 0 {
		l.PendingPerIP = DefaultAuthorizeLimits.PendingPerIP
	}
	return l
}

// authorizeParamLimits are the longest values, in bytes, of the parameters an authorization
// request may carry; every value of a repeated parameter is checked. The values the store
// keeps (state, nonce, login_hint, scope, ui_locales, prompt, code_challenge, redirect_uri) are
// bounded, and so is every other parameter otpidp reads. Unknown parameters are bounded by
// MaxAuthorizeBytes only: nothing keeps them.
var authorizeParamLimits = map[string]int{
	"client_id":             128,
	"redirect_uri":          2048,
	"response_type":         64,
	"response_mode":         32,
	"scope":                 1024,
	"state":                 2048,
	"nonce":                 512,
	"login_hint":            256,
	"ui_locales":            256,
	"claims_locales":        256,
	"prompt":                64,
	"max_age":               16,
	"display":               32,
	"acr_values":            512,
	"claims":                2048,
	"id_token_hint":         8192,
	"code_challenge":        128,
	"code_challenge_method": 16,
}

// boundedAuthorizeParams are authorizeParamLimits' names in a fixed order, so that the same
// request always gets the same answer.
var boundedAuthorizeParams = slices.Sorted(maps.Keys(authorizeParamLimits))

// unsafeAuthorizeParams are those an error cannot be sent back through while they are
// unchecked (RFC 6749 §4.1.2.1): the client and its redirect URI.
var unsafeAuthorizeParams = []string{"client_id", "redirect_uri"}

// authorizeBounds enforces the authorization endpoint's bounds.
type authorizeBounds struct {
	cfg   AuthorizeLimits
	perIP *limits.Buckets
}

func newAuthorizeBounds(cfg AuthorizeLimits) *authorizeBounds {
	cfg = cfg.withDefaults()
	return &authorizeBounds{cfg: cfg, perIP: limits.NewBuckets(cfg.PerIP, 0)}
}

// admit applies the per-IP rate limit and the size bound, and parses the request's form. It
// answers the request itself (a 429, 414 or 413, shown as the error page) and returns false
// when the request goes no further.
func (p *Provider) admit(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	if v := p.authorize.perIP.Take(reqinfo.From(ctx).LimitKey(), p.storage.now()); !v.OK {
		if v.Report {
			p.storage.log.WarnContext(ctx, "authorization requests refused by a rate limit", "limit", p.authorize.cfg.PerIP.String())
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(v.RetryAfter.Seconds())))
		http.Error(w, "too many authorization requests from this network; try again later", http.StatusTooManyRequests)
		return false
	}
	if len(r.URL.RawQuery) > MaxAuthorizeBytes {
		http.Error(w, fmt.Sprintf("the authorization request is too long (at most %d bytes)", MaxAuthorizeBytes), http.StatusRequestURITooLong)
		return false
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxAuthorizeBytes)
	}
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, fmt.Sprintf("the authorization request is too long (at most %d bytes)", MaxAuthorizeBytes), http.StatusRequestEntityTooLarge)
			return false
		}
		http.Error(w, "the authorization request cannot be parsed", http.StatusBadRequest)
		return false
	}
	return true
}

// checkAuthorizeParams returns an invalid_request error naming the first parameter of form
// (among names, or every bounded one when names is empty) longer than its limit, and whether
// that parameter is state (which is then not sent back).
func checkAuthorizeParams(form url.Values, names ...string) (*oidc.Error, bool) {
	if len(names) == 0 {
		names = boundedAuthorizeParams
	}
	for _, n := range names {
		for _, v := range form[n] {
			if max := authorizeParamLimits[n]; len(v) > max {
				return oidc.ErrInvalidRequest().WithDescription("%s is too long (at most %d bytes)", n, max), n == "state"
			}
		}
	}
	return nil, false
}

// pendingCapReached reports whether the request's address has as many pending authorization
// requests as it may.
func (p *Provider) pendingCapReached(r *http.Request) (bool, error) {
	max := p.authorize.cfg.PendingPerIP
	if max < 0 {
		return false, nil
	}
	n, err := p.storage.store.CountPendingAuthRequests(r.Context(), reqinfo.From(r.Context()).LimitKey(), p.storage.now(), max)
	if err != nil {
		return false, err
	}
	return n >= max, nil
}
