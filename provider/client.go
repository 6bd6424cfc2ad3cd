package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// Grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Access token formats.
const (
	AccessTokenOpaque = "opaque"
	AccessTokenJWT    = "jwt"
)

// secretNameClientHMAC names the server secret that keys client-secret hashes.
const secretNameClientHMAC = "client-secret-hmac"

// ClientSpec is what an operator registers.
type ClientSpec struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Public                 bool     // no secret; PKCE required
	GrantTypes             []string // default: authorization_code, refresh_token
	AccessTokenFormat      string   // default: opaque
	FirstParty             bool

	Scopes  []string // client_credentials: the scopes the client may be granted
	JWKS    []byte   // private_key_jwt: the client's public keys (a JWK Set), or
	JWKSURI string   // where to fetch them; either one makes the client use private_key_jwt

	IDTokenAlg string // id_token_signed_response_alg: RS256 (default, stored empty), ES256 or EdDSA
	// IDTokenClaims puts the granted profile and phone claims in the client's ID tokens, not
	// only in userinfo (apps that read only the ID token).
	IDTokenClaims bool
}

// ClientError lists what is wrong with a ClientSpec, all at once.
type ClientError struct{ Problems []string }

func (e *ClientError) Error() string { return "invalid client: " + strings.Join(e.Problems, "; ") }

// Validate normalizes defaults and reports every problem of the spec.
func (s *ClientSpec) Validate() error {
	var p []string
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		p = append(p, "a name is required")
	} else if len([]rune(s.Name)) > 100 {
		p = append(p, "the name is longer than 100 characters")
	}
	if len(s.RedirectURIs) == 0 && !s.serviceOnly() {
		p = append(p, "at least one redirect URI is required")
	}
	for _, u := range s.RedirectURIs {
		if err := checkRedirectURI(u, s.Public); err != nil {
			p = append(p, fmt.Sprintf("redirect URI %q: %v", u, err))
		}
	}
	for _, u := range s.PostLogoutRedirectURIs {
		if err := checkRedirectURI(u, s.Public); err != nil {
			p = append(p, fmt.Sprintf("post-logout redirect URI %q: %v", u, err))
		}
	}
	if len(s.GrantTypes) == 0 {
		s.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	for _, g := range s.GrantTypes {
		if !slices.Contains(grantTypes, g) {
			p = append(p, fmt.Sprintf("grant type %q is not supported (use %s)", g, strings.Join(grantTypes, ", ")))
		}
	}
	if !slices.Contains(s.GrantTypes, GrantAuthorizationCode) && !s.serviceOnly() {
		p = append(p, "the authorization_code grant is required (or client_credentials alone, or the device code grant)")
	}
	p = append(p, s.validateProfile()...)
	switch s.AccessTokenFormat {
	case "":
		s.AccessTokenFormat = AccessTokenOpaque
	case AccessTokenOpaque, AccessTokenJWT:
	default:
		p = append(p, fmt.Sprintf("access token format %q is not one of opaque, jwt", s.AccessTokenFormat))
	}
	if len(p) > 0 {
		return &ClientError{Problems: p}
	}
	return nil
}

// checkRedirectURI accepts absolute URIs without fragments: https anywhere, http only for
// loopback hosts (RFC 9700 §2.6, RFC 8252 §7.3), and private-use schemes (RFC 8252 §7.1) only for
// public (native) clients.
func checkRedirectURI(raw string, public bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return errors.New("not an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not contain a fragment")
	}
	if u.User != nil {
		return errors.New("must not contain user information")
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return errors.New("has no host")
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return errors.New("http is only allowed for loopback addresses (localhost, 127.0.0.1, [::1]); use https")
		}
	default:
		if !public {
			return errors.New("custom schemes are only for public (native) clients")
		}
		if !strings.Contains(u.Scheme, ".") {
			return errors.New("a custom scheme must be a reverse domain name, like com.example.app")
		}
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RegisterClient validates spec, creates the client and returns its ID and, for confidential
// clients, its secret. The secret is shown once: only a keyed hash of it is stored.
func RegisterClient(ctx context.Context, store storage.Storage, spec ClientSpec, now time.Time) (id, secret string, err error) {
	if err := spec.Validate(); err != nil {
		return "", "", err
	}
	id, err = randomHex(16)
	if err != nil {
		return "", "", err
	}
	c := storage.Client{
		ID:                     id,
		Name:                   spec.Name,
		RedirectURIs:           spec.RedirectURIs,
		PostLogoutRedirectURIs: spec.PostLogoutRedirectURIs,
		Public:                 spec.Public,
		GrantTypes:             spec.GrantTypes,
		AccessTokenFormat:      spec.AccessTokenFormat,
		FirstParty:             spec.FirstParty,
		CreatedAt:              now.UTC(),
	}
	if !spec.Public && !spec.usesKeys() {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", "", err
		}
		secret = base64.RawURLEncoding.EncodeToString(b)
		key, err := clientSecretKey(ctx, store)
		if err != nil {
			return "", "", err
		}
		c.SecretHash = hashClientSecret(key, secret)
	}
	if err := store.CreateClientWithProfile(ctx, c, spec.profile(id)); err != nil {
		return "", "", fmt.Errorf("create client: %w", err)
	}
	if spec.IDTokenAlg != "" {
		// A key of the algorithm is published before the client's first token.
		k := &keys{store: store, now: func() time.Time { return now }}
		if err := k.ensureAlg(ctx, spec.IDTokenAlg); err != nil {
			return "", "", fmt.Errorf("signing key for the client's ID tokens: %w", err)
		}
	}
	return id, secret, nil
}

// clientSecretKey returns the shared key for client-secret hashes, creating it on first use.
func clientSecretKey(ctx context.Context, store storage.Storage) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	key, err := store.Secret(ctx, secretNameClientHMAC, b)
	if err != nil {
		return nil, fmt.Errorf("client secret key: %w", err)
	}
	return key, nil
}

// hashClientSecret is HMAC-SHA256: client secrets are 256-bit random values, so a fast keyed
// hash is as strong as a slow one and costs microseconds per token request.
func hashClientSecret(key []byte, secret string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// checkClientSecret compares in constant time.
func checkClientSecret(key []byte, c storage.Client, secret string) bool {
	if len(c.SecretHash) == 0 || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare(hashClientSecret(key, secret), c.SecretHash) == 1
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// matchRedirectURI is otpidp's redirect URI rule: uri must equal a registered redirect URI
// byte for byte, except that a native app's loopback registration (http://127.0.0.1/…,
// http://[::1]/…, with or without a port) matches on any port (RFC 8252 §7.3: the port is
// chosen when the app runs): same scheme, host, path and query.
func matchRedirectURI(registered []string, native bool, uri string) bool {
	for _, r := range registered {
		if r == uri {
			return true
		}
	}
	if !native {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) || u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || !isLoopbackHost(ru.Hostname()) {
			continue
		}
		if u.Hostname() == ru.Hostname() && u.EscapedPath() == ru.EscapedPath() && u.RawQuery == ru.RawQuery {
			return true
		}
	}
	return false
}
