package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/otpidp/otpidp/storage"
)

// AuthMethodPrivateKeyJWT is the profile's AuthMethod of clients that authenticate with a
// signed assertion (RFC 7523 §2.2, OpenID Connect Core §9).
const AuthMethodPrivateKeyJWT = "private_key_jwt"

// grantTypes are the grant types a client may be registered for.
var grantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode}

// userScopes are about a user: they mean nothing to a token that has none.
var userScopes = supportedScopes

// serviceOnly: a client that only ever acts for itself, or signs users in only on devices
// (the device grant), needs no redirect URI.
func (s *ClientSpec) serviceOnly() bool {
	if len(s.GrantTypes) == 0 || slices.Contains(s.GrantTypes, GrantAuthorizationCode) {
		return false
	}
	return !slices.Contains(s.GrantTypes, GrantRefreshToken) || slices.Contains(s.GrantTypes, GrantDeviceCode)
}

// usesKeys: the client authenticates with private_key_jwt, and has no secret.
func (s *ClientSpec) usesKeys() bool { return len(s.JWKS) > 0 || s.JWKSURI != "" }

func (s *ClientSpec) profile(id string) storage.ClientProfile {
	p := storage.ClientProfile{ClientID: id, Scopes: s.Scopes, JWKS: s.JWKS, JWKSURI: s.JWKSURI, IDTokenAlg: s.IDTokenAlg, IDTokenClaims: s.IDTokenClaims}
	if s.usesKeys() {
		p.AuthMethod = AuthMethodPrivateKeyJWT
	}
	return p
}

// validateProfile checks what a client registers beyond the basics.
func (s *ClientSpec) validateProfile() []string {
	var p []string
	cc := slices.Contains(s.GrantTypes, GrantClientCredentials)
	if cc && s.Public {
		p = append(p, "the client_credentials grant is for confidential clients only")
	}
	if cc && len(s.Scopes) == 0 {
		p = append(p, "a client_credentials client needs the scopes it may be granted (--scope)")
	}
	if !cc && len(s.Scopes) > 0 {
		p = append(p, "scopes are registered only for the client_credentials grant")
	}
	for _, sc := range s.Scopes {
		switch {
		case !validScopeToken(sc):
			p = append(p, fmt.Sprintf("scope %q is not a valid scope token (RFC 6749 §3.3)", sc))
		case slices.Contains(userScopes, sc):
			p = append(p, fmt.Sprintf("scope %q is about a user; a client_credentials token has none", sc))
		}
	}
	if s.IDTokenAlg == signingAlgorithm {
		s.IDTokenAlg = "" // the default
	}
	if s.IDTokenAlg != "" && !slices.Contains(idTokenAlgs, s.IDTokenAlg) {
		p = append(p, fmt.Sprintf("ID token algorithm %q is not one of %s", s.IDTokenAlg, strings.Join(idTokenAlgs, ", ")))
	}
	if s.IDTokenAlg != "" && s.serviceOnly() && !slices.Contains(s.GrantTypes, GrantDeviceCode) {
		p = append(p, "a client_credentials client gets no ID tokens: it needs no ID token algorithm")
	}
	if s.IDTokenClaims && s.serviceOnly() && !slices.Contains(s.GrantTypes, GrantDeviceCode) {
		p = append(p, "a client_credentials client gets no ID tokens: it needs no ID token claims")
	}
	if s.usesKeys() {
		if s.Public {
			p = append(p, "a public client cannot authenticate with keys")
		}
		if len(s.JWKS) > 0 && s.JWKSURI != "" {
			p = append(p, "give the client's keys inline (JWKS) or by URI, not both")
		}
		if len(s.JWKS) > 0 {
			if _, err := parseClientJWKS(s.JWKS); err != nil {
				p = append(p, "JWKS: "+err.Error())
			}
		}
		if s.JWKSURI != "" {
			if u, err := url.Parse(s.JWKSURI); err != nil || !u.IsAbs() || u.Host == "" ||
				!(u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname())) || u.Fragment != "" {
				p = append(p, fmt.Sprintf("JWKS URI %q: must be an absolute https URL (http only on a loopback host)", s.JWKSURI))
			}
		}
	}
	return p
}

// validScopeToken: 1*( %x21 / %x23-5B / %x5D-7E ), and not longer than 100 bytes.
func validScopeToken(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// parseClientJWKS parses a client's JWK Set: public signing keys only, of an algorithm otpidp
// accepts for client assertions.
func parseClientJWKS(b []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return set, fmt.Errorf("not a JWK Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return set, errors.New("no keys")
	}
	for i, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			return set, fmt.Errorf("key %d is not a valid public key", i)
		}
		if k.Use != "" && k.Use != "sig" {
			return set, fmt.Errorf("key %d is not a signing key (use %q)", i, k.Use)
		}
		if _, err := assertionAlgs(k); err != nil {
			return set, fmt.Errorf("key %d: %w", i, err)
		}
	}
	return set, nil
}

// assertionAlgs are the algorithms a client key may sign assertions with: RSA keys of at least
// 2048 bits (RS256, PS256), P-256 (ES256), Ed25519 (EdDSA). A key's "alg", when set, narrows
// them to itself.
func assertionAlgs(k jose.JSONWebKey) ([]jose.SignatureAlgorithm, error) {
	var algs []jose.SignatureAlgorithm
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("RSA keys must have at least 2048 bits")
		}
		algs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, errors.New("EC keys must be on P-256 (ES256)")
		}
		algs = []jose.SignatureAlgorithm{jose.ES256}
	case ed25519.PublicKey:
		algs = []jose.SignatureAlgorithm{jose.EdDSA}
	default:
		return nil, fmt.Errorf("unsupported key type %T", k.Key)
	}
	if k.Algorithm != "" {
		if !slices.Contains(algs, jose.SignatureAlgorithm(k.Algorithm)) {
			return nil, fmt.Errorf("alg %q does not fit the key", k.Algorithm)
		}
		algs = []jose.SignatureAlgorithm{jose.SignatureAlgorithm(k.Algorithm)}
	}
	return algs, nil
}

// clientAssertionAlgs are advertised in discovery as token_endpoint_auth_signing_alg_values_supported.
var clientAssertionAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// profile returns the client's profile from a cache of a few seconds; a client without one
// has the zero profile.
func (s *opStorage) profile(ctx context.Context, id string) (storage.ClientProfile, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	cp, ok := s.profiles[id]
	s.mu.Unlock()
	if ok && now.Sub(cp.fetched) < s.cfg.ClientCacheTTL {
		return cp.p, nil
	}
	p, err := s.store.GetClientProfile(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		p, err = storage.ClientProfile{ClientID: id}, nil
	}
	if err != nil {
		return storage.ClientProfile{}, err
	}
	s.mu.Lock()
	if len(s.profiles) > 10000 {
		clear(s.profiles)
	}
	s.profiles[id] = cachedProfile{p, now}
	s.mu.Unlock()
	return p, nil
}

type cachedProfile struct {
	p       storage.ClientProfile
	fetched time.Time
}
