package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/storage"
)

// private_key_jwt client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9), on the
// token, introspection and revocation endpoints. otpidp verifies the assertion itself, because
// the library's check takes only the issuer as audience, keeps no jti, accepts any lifetime and
// is not called at all for client_credentials:
//
//   - client_assertion_type is urn:ietf:params:oauth:client-assertion-type:jwt-bearer, and no
//     other client authentication comes with it (RFC 6749 §2.3);
//   - the JWS is signed with RS256, PS256, ES256 or EdDSA by a key of the client's registered
//     JWK Set (inline, or fetched from its jwks_uri); jku, jwk and x5u headers are ignored;
//   - iss = sub = the client's ID (and = client_id when the form has one), and the client is
//     registered for private_key_jwt;
//   - aud contains the issuer or the token endpoint's URL;
//   - exp is in the future and at most maxAssertionLifetime away; nbf, when present, has passed;
//   - jti is present and used once: the store records it until exp, atomically.
//
// Every failure answers 401 invalid_client. How a verified request then continues through
// the library (as client_secret_post with a one-request proof) is the zitadel seam's
// (zitadel_seam.go, 4: clientAssertions).

const (
	// maxAssertionLifetime bounds exp - now. zitadel's relying party signs assertions for an
	// hour; every jti is kept until its exp.
	maxAssertionLifetime = time.Hour
	// assertionLeeway is the clock skew allowed on exp and nbf.
	assertionLeeway = 30 * time.Second
)

// verifyClientAssertion returns the client the request's assertion authenticates.
func (p *Provider) verifyClientAssertion(r *http.Request) (string, error) {
	form := r.PostForm
	if form.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion {
		return "", errors.New("unsupported client_assertion_type")
	}
	if _, _, basic := r.BasicAuth(); basic || form.Get("client_secret") != "" {
		return "", errors.New("more than one client authentication method")
	}
	if len(form["client_assertion"]) != 1 {
		return "", errors.New("exactly one client_assertion is required")
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return "", fmt.Errorf("malformed assertion: %w", err)
	}
	if len(tok.Headers) != 1 {
		return "", errors.New("exactly one signature is required")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return "", fmt.Errorf("malformed claims: %w", err)
	}
	clientID := unverified.Issuer
	if clientID == "" || unverified.Subject != clientID {
		return "", errors.New("iss and sub must both be the client ID")
	}
	if id := form.Get("client_id"); id != "" && id != clientID {
		return "", errors.New("client_id differs from the assertion's issuer")
	}
	ctx := r.Context()
	if _, err := p.storage.client(ctx, clientID); err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	prof, err := p.storage.profile(ctx, clientID)
	if err != nil {
		return "", err
	}
	if prof.AuthMethod != AuthMethodPrivateKeyJWT {
		return "", errors.New("the client is not registered for private_key_jwt")
	}
	keys, err := p.clientKeys.keys(ctx, prof, tok.Headers[0].KeyID)
	if err != nil {
		return "", err
	}
	var claims jwt.Claims
	verified := false
	for _, k := range keys {
		if tok.Headers[0].KeyID != "" && k.KeyID != tok.Headers[0].KeyID {
			continue
		}
		algs, err := assertionAlgs(k)
		if err != nil || !slices.Contains(algs, jose.SignatureAlgorithm(tok.Headers[0].Algorithm)) {
			continue
		}
		if err := tok.Claims(k.Key, &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return "", errors.New("no registered key verifies the signature")
	}
	now := p.storage.now()
	exp, err := p.checkAssertionClaims(claims, now)
	if err != nil {
		return "", err
	}
	err = p.storage.store.UseAssertionID(ctx, clientID, claims.ID, exp.Add(assertionLeeway), now)
	if errors.Is(err, storage.ErrAlreadyUsed) {
		return "", errors.New("the assertion's jti was used before")
	}
	if err != nil {
		return "", err
	}
	return clientID, nil
}

// checkAssertionClaims checks aud, exp, nbf and jti of a verified assertion; it returns exp.
func (p *Provider) checkAssertionClaims(claims jwt.Claims, now time.Time) (time.Time, error) {
	tokenEndpoint := p.issuer + p.op.TokenEndpoint().Relative()
	if !slices.Contains(claims.Audience, p.issuer) && !slices.Contains(claims.Audience, tokenEndpoint) {
		return time.Time{}, errors.New("aud names neither the issuer nor the token endpoint")
	}
	if claims.Expiry == nil {
		return time.Time{}, errors.New("exp is required")
	}
	exp := claims.Expiry.Time()
	switch {
	case !exp.Add(assertionLeeway).After(now):
		return time.Time{}, errors.New("the assertion has expired")
	case exp.Sub(now) > maxAssertionLifetime+assertionLeeway:
		return time.Time{}, fmt.Errorf("exp is more than %s away", maxAssertionLifetime)
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionLeeway)):
		return time.Time{}, errors.New("the assertion is not valid yet (nbf)")
	case claims.ID == "" || len(claims.ID) > 200:
		return time.Time{}, errors.New("jti is required (at most 200 characters)")
	}
	return exp, nil
}

// clientKeyCache holds the JWK Sets fetched from clients' jwks_uri for a few minutes; an
// unknown kid fetches again, at most every minFetchInterval. A failed fetch is remembered for
// minFetchInterval too (every assertion of that client fails at once meanwhile, without a
// request), and one fetch at a time runs per URI: concurrent callers wait for its answer. A
// client whose jwks_uri is down (or made slow on purpose) so costs one request a minute, not
// one per token request.
type clientKeyCache struct {
	http *http.Client
	now  func() time.Time

	mu       sync.Mutex
	sets     map[string]fetchedKeys
	inflight map[string]*keyFetch
}

type fetchedKeys struct {
	set       jose.JSONWebKeySet
	fetched   time.Time // the last successful fetch; zero: none
	attempted time.Time // the last fetch, successful or not
	err       error     // the last fetch's failure; nil when it succeeded
}

// keyFetch is a fetch in progress; done closes when set and err are final.
type keyFetch struct {
	done chan struct{}
	set  jose.JSONWebKeySet
	err  error
}

const (
	clientKeysTTL    = 5 * time.Minute
	minFetchInterval = time.Minute
)

func (c *clientKeyCache) keys(ctx context.Context, prof storage.ClientProfile, kid string) ([]jose.JSONWebKey, error) {
	if len(prof.JWKS) > 0 {
		set, err := parseClientJWKS(prof.JWKS)
		return set.Keys, err
	}
	uri := prof.JWKSURI
	if uri == "" {
		return nil, errors.New("the client has no keys")
	}
	now := c.now()
	c.mu.Lock()
	if f, ok := c.sets[uri]; ok {
		fresh := !f.fetched.IsZero() && now.Sub(f.fetched) < clientKeysTTL
		recent := now.Sub(f.attempted) < minFetchInterval
		switch {
		case fresh && (kid == "" || len(f.set.Key(kid)) > 0), fresh && recent:
			c.mu.Unlock()
			return f.set.Keys, nil
		case recent && f.err != nil:
			c.mu.Unlock()
			return nil, fmt.Errorf("client JWKS: the last fetch failed less than %v ago: %w", minFetchInterval, f.err)
		}
	}
	call, running := c.inflight[uri]
	if !running {
		if c.inflight == nil {
			c.inflight = map[string]*keyFetch{}
		}
		call = &keyFetch{done: make(chan struct{})}
		c.inflight[uri] = call
	}
	c.mu.Unlock()
	if !running {
		// Not bound to this caller's request: the others waiting must not fail with it.
		call.set, call.err = c.fetch(context.WithoutCancel(ctx), uri)
		c.mu.Lock()
		delete(c.inflight, uri)
		if len(c.sets) > 1000 {
			clear(c.sets)
		}
		f := c.sets[uri]
		f.attempted, f.err = now, call.err
		if call.err == nil {
			f.set, f.fetched = call.set, now
		}
		c.sets[uri] = f
		c.mu.Unlock()
		close(call.done)
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if call.err != nil {
		return nil, call.err
	}
	return call.set.Keys, nil
}

func (c *clientKeyCache) fetch(ctx context.Context, uri string) (jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch client JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch client JWKS: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch client JWKS: %w", err)
	}
	if len(b) > maxJWKSSize {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch client JWKS: larger than %d bytes", maxJWKSSize)
	}
	return parseClientJWKS(b)
}
