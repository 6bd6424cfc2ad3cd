package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// opStorage adapts storage.Storage to zitadel/oidc's op.Storage. Every piece of state goes to
// the store, so any instance can serve any step.
type opStorage struct {
	store  storage.Storage
	cfg    Config
	keys   *keys
	log    *slog.Logger
	secret []byte // client-secret HMAC key

	mu       sync.Mutex
	clients  map[string]cachedClient // short cache: client secrets are checked on every token request
	profiles map[string]cachedProfile
	jwt      *jwtAccess // JWT access tokens (jwtaccess.go)
	audit    *audit.Log // token events (audit.go)
}

type cachedClient struct {
	c       storage.Client
	fetched time.Time
}

var _ op.Storage = (*opStorage)(nil)

func (s *opStorage) now() time.Time { return s.cfg.Now().UTC() }

func hashValue(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// client returns a client from a cache of a few seconds.
func (s *opStorage) client(ctx context.Context, id string) (storage.Client, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	cc, ok := s.clients[id]
	s.mu.Unlock()
	if ok && now.Sub(cc.fetched) < s.cfg.ClientCacheTTL {
		return cc.c, nil
	}
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return storage.Client{}, err
	}
	s.mu.Lock()
	if len(s.clients) > 10000 {
		clear(s.clients)
	}
	s.clients[id] = cachedClient{c, now}
	s.mu.Unlock()
	return c, nil
}

// ---- authorization requests and codes ----

func (s *opStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	return s.createAuthRequest(ctx, req, hintSubject, nil)
}

// createAuthRequest stores the request, with the claims its claims parameter asked for in the
// ID token (claims.go).
func (s *opStorage) createAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string, idTokenClaims []string) (op.AuthRequest, error) {
	c, err := s.client(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client").WithParent(err)
	}
	// PKCE (RFC 7636, RFC 9700 §2.1.1): only S256; required for public clients.
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.Public && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_type=code is supported")
	}
	id, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	now := s.now()
	maxAge := int64(-1)
	if req.MaxAge != nil {
		maxAge = int64(*req.MaxAge)
	}
	locales := make([]string, 0, len(req.UILocales))
	for _, l := range req.UILocales {
		locales = append(locales, l.String())
	}
	a := storage.AuthRequest{
		ID:                  id,
		ClientID:            req.ClientID,
		RedirectURI:         req.RedirectURI,
		Scopes:              req.Scopes,
		State:               req.State,
		Nonce:               req.Nonce,
		ResponseType:        string(req.ResponseType),
		ResponseMode:        string(req.ResponseMode),
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt:              req.Prompt,
		MaxAge:              maxAge,
		LoginHint:           req.LoginHint,
		UILocales:           locales,
		HintSubject:         hintSubject,
		IDTokenClaims:       idTokenClaims,
		BrowserHash:         s.cfg.SignIn.BrowserHash(ctx),
		ClientIP:            reqinfo.From(ctx).LimitKey(),
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.cfg.AuthRequestTTL),
	}
	if err := s.store.CreateAuthRequest(ctx, a); err != nil {
		return nil, fmt.Errorf("create auth request: %w", err)
	}
	return authRequest{a}, nil
}

func (s *opStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.store.GetAuthRequest(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request").WithParent(err)
	}
	if !a.ExpiresAt.After(s.now()) {
		return nil, oidc.ErrInvalidRequest().WithDescription("the authorization request has expired")
	}
	return authRequest{a}, nil
}

func (s *opStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.store.SetAuthCode(ctx, id, hashValue(code), s.now().Add(s.cfg.CodeTTL))
}

// ---- tokens ----

func (s *opStorage) newAccessToken(ctx context.Context, r op.TokenRequest) (storage.AccessToken, error) {
	family, clientID, aud := grantOf(ctx, r)
	if clientID == "" {
		return storage.AccessToken{}, oidc.ErrUnsupportedGrantType()
	}
	id, err := randomHex(16)
	if err != nil {
		return storage.AccessToken{}, err
	}
	requestStateFrom(ctx).tokensIssued(r.GetScopes())
	now := s.now()
	t := storage.AccessToken{
		ID: id, FamilyID: family, ClientID: clientID, UserID: r.GetSubject(),
		Scopes: r.GetScopes(), Audience: aud, CreatedAt: now, ExpiresAt: now.Add(s.cfg.AccessTokenTTL),
	}
	if _, ok := r.(*clientCredentialsRequest); ok {
		// No user: the token is its own grant, and its subject is the client (RFC 9068 §2.2).
		t.UserID, t.FamilyID = "", id
	}
	return t, nil
}

func (s *opStorage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	t, err := s.newAccessToken(ctx, r)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.store.CreateAccessToken(ctx, t); err != nil {
		return "", time.Time{}, fmt.Errorf("create access token: %w", err)
	}
	s.audit.Record(ctx, audit.Entry{Event: audit.TokenIssued, UserID: t.UserID, ClientID: t.ClientID, Detail: "access"})
	s.expectJWT(ctx, r, t)
	return t.ID, t.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens issues the tokens of a code or device grant, or rotates a
// refresh token (zitadel_seam.go, 6).
func (s *opStorage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, _ string) (string, string, time.Time, error) {
	access, err := s.newAccessToken(ctx, r)
	if err != nil {
		return "", "", time.Time{}, err
	}
	value, err := randomToken()
	if err != nil {
		return "", "", time.Time{}, err
	}
	rtID, err := randomHex(16)
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := s.now()
	next := storage.RefreshToken{
		ID: rtID, TokenHash: hashValue(value), FamilyID: access.FamilyID, ClientID: access.ClientID,
		UserID: r.GetSubject(), Scopes: r.GetScopes(), Audience: access.Audience,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshAbsoluteTTL), IdleExpiresAt: now.Add(s.cfg.RefreshIdleTTL),
	}
	switch v := r.(type) {
	case authRequest:
		next.AMR, next.AuthTime = v.a.AMR, v.a.AuthTime
		err = s.createGrantTokens(ctx, access, next)
	case *op.DeviceAuthorizationState:
		next.AMR, next.AuthTime = v.AMR, v.AuthTime
		err = s.createGrantTokens(ctx, access, next)
	case *refreshRequest:
		err = s.rotateRefresh(ctx, v, next, access)
	default:
		err = oidc.ErrUnsupportedGrantType()
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.expectJWT(ctx, r, access)
	return access.ID, value, access.ExpiresAt, nil
}

// createGrantTokens stores the first access and refresh token of a grant.
func (s *opStorage) createGrantTokens(ctx context.Context, access storage.AccessToken, refresh storage.RefreshToken) error {
	if err := s.store.CreateAccessToken(ctx, access); err != nil {
		return fmt.Errorf("create access token: %w", err)
	}
	if err := s.store.CreateRefreshToken(ctx, refresh); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	s.audit.Record(ctx, audit.Entry{Event: audit.TokenIssued, UserID: refresh.UserID, ClientID: refresh.ClientID, Detail: "access+refresh"})
	return nil
}

// TerminateSession ends the browser's session (RP-initiated logout).
func (s *opStorage) TerminateSession(ctx context.Context, _, _ string) error {
	return s.cfg.SignIn.EndSession(ctx)
}

// activeAccessToken returns the access token if it is unrevoked and unexpired.
func (s *opStorage) activeAccessToken(ctx context.Context, id, subject string) (storage.AccessToken, error) {
	t, err := s.store.GetAccessToken(ctx, id)
	if err != nil {
		return storage.AccessToken{}, err
	}
	if !t.RevokedAt.IsZero() || !t.ExpiresAt.After(s.now()) || tokenSubject(t) != subject {
		return storage.AccessToken{}, errors.New("token is not active")
	}
	return t, nil
}

// ---- keys ----

func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}, nil
}

func (s *opStorage) KeySet(ctx context.Context) ([]op.Key, error) { return s.keys.KeySet(ctx) }

// ---- clients ----

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.client(ctx, id)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("unknown client %q", id)
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	p, err := s.profile(ctx, id)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	requestStateFrom(ctx).clientLoaded(p)
	return &opClient{c: c, p: p, asserted: assertedClient(ctx, id), loginPath: s.cfg.LoginPath, idTokenTTL: s.cfg.IDTokenTTL}, nil
}

func (s *opStorage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.client(ctx, id)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return oidc.ErrInvalidClient().WithDescription("invalid client credentials")
		}
		return oidc.ErrServerError().WithParent(err)
	}
	if !checkClientSecret(s.secret, c, secret) && !checkAssertionProof(ctx, id, secret) {
		return oidc.ErrInvalidClient().WithDescription("invalid client credentials")
	}
	limits.ClientAuthenticated(ctx, id) // the protocol limits count the client from here on
	return nil
}

// ---- claims ----

// setUserinfo fills the claims the scopes allow. It always sets Subject: zitadel copies the
// userinfo over the ID token claims, so an empty subject would empty the token's sub.
func (s *opStorage) setUserinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	info.Subject = userID
	if !slices.Contains(scopes, oidc.ScopeProfile) && !slices.Contains(scopes, oidc.ScopePhone) {
		return nil
	}
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.UpdatedAt = oidc.FromTime(u.UpdatedAt)
	}
	if slices.Contains(scopes, oidc.ScopePhone) {
		info.PhoneNumber = u.Phone
		info.PhoneNumberVerified = oidc.Bool(u.PhoneVerified)
	}
	return nil
}

func (s *opStorage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	return s.setUserinfo(ctx, info, userID, scopes)
}

func (s *opStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.activeAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if t.UserID == "" {
		return errors.New("not a user's token")
	}
	return s.setUserinfo(ctx, info, t.UserID, t.Scopes)
}

func (s *opStorage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	t, err := s.activeAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	resp.Scope = t.Scopes
	resp.ClientID = t.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(t.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(t.CreatedAt)
	resp.Subject = tokenSubject(t)
	resp.Audience = t.Audience
	resp.Issuer = op.IssuerFromContext(ctx)
	return nil
}

func (s *opStorage) Health(ctx context.Context) error { return s.store.Ping(ctx) }
