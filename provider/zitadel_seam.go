package provider

// The seam between otpidp and zitadel/oidc (v3.52.0). Everything otpidp does to correct or bend
// the library is in this file, each piece saying which library behaviour it corrects; the
// tests in zitadel_seam_test.go fail if that behaviour comes back through otpidp. The rest of
// the package implements op.Storage and otpidp's own endpoints plainly.
//
//  1. One per-request value (requestState) carries what the library hands from one callback
//     of a request to the next without saying so: the ID token algorithm, the client
//     assertion's proof, the device grant's family, the JWT access token being made. It is
//     the provider's only context.WithValue.
//  2. ID token algorithm per client: op.CreateIDToken asks Storage.SigningKey(ctx) without
//     naming the client.
//  3. JWT access tokens: op.CreateAccessToken signs AccessTokenTypeJWT tokens itself (op.CreateJWT,
//     "typ: JWT", the ID token key); otpidp's are RFC 9068 at+jwt, woven into this request's
//     token crypto (requestCrypto, exchanger).
//  4. Client assertions: zitadel's private_key_jwt check (op.ClientJWTProfile) takes only the
//     issuer as audience, keeps no jti and is skipped by op.ClientCredentialsExchange; verified
//     assertions continue as client_secret_post with a one-request proof.
//  5. Device grant family: op.DeviceAuthorizationState has no ID, so
//     Storage.CreateAccessAndRefreshTokens cannot tell which device authorization its tokens
//     belong to.
//  6. Codes and refresh families: op.CreateTokenResponse deletes the auth request after a code
//     exchange (a replay is then merely unknown) and op.RefreshTokenExchange knows no token
//     family; op.Revoke passes RevokeToken a bare ID. otpidp consumes codes and rotates refresh
//     tokens atomically in the store and revokes a family on replay (RFC 6749 §4.1.2, RFC 9700
//     §4.14.2).
//  7. Endpoint overrides (routes, wrap): which paths are otpidp's own and why; the library's
//     token endpoint takes GET, caches nothing explicitly, allows CORS from any origin
//     (op.CreateRouter's defaultCORSOptions) and sends no WWW-Authenticate on 401.
//  8. Library options (newOP): AES-GCM token crypto, id_token_hint of every algorithm, the
//     library's CORS off, the op.Storage methods of features otpidp refuses.
//  9. ID tokens only for openid: op.CreateTokenResponse makes an ID token for every code,
//     refresh and device grant, whatever the scopes; an answer whose tokens were issued without
//     the openid scope leaves without it (OpenID Connect Core §3.1.2.1: openid makes a request
//     an OpenID one).

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/oautherr"
	"github.com/otpidp/otpidp/storage"
)

// ---- 1. the per-request value ----

type requestStateKey struct{}

// requestState is what one HTTP request carries between the library's callbacks. It lives in
// that request's context only (never context.Background, never a global map): any instance
// can serve any request, and nothing outlives the request.
type requestState struct {
	mu           sync.Mutex
	idTokenAlg   string                // 2: the client's ID token algorithm; empty: RS256
	assertion    assertionProof        // 4: the verified client assertion; zero: none
	deviceFamily string                // 5: the device authorization the tokens are issued for
	pendingJWT   map[string]pendingJWT // 3: access token ID → its at+jwt claims, until Encrypt
	family       string                // 6: the refresh token family GetRefreshTokenInfo found for the caller
	foreignToken bool                  // 6: the token to revoke is another client's
	scopes       []string              // 9: the scopes of the tokens being issued
	issued       bool                  // 9: tokens were issued (scopes is set)
}

type assertionProof struct {
	clientID string
	proof    string
}

// withRequestState returns ctx with a requestState, adding a fresh one if it has none.
func withRequestState(ctx context.Context) (context.Context, *requestState) {
	if s := requestStateFrom(ctx); s != nil {
		return ctx, s
	}
	s := &requestState{}
	return context.WithValue(ctx, requestStateKey{}, s), s
}

// requestStateFrom returns the request's state; nil outside a request (the methods of a nil
// state record nothing and report nothing).
func requestStateFrom(ctx context.Context) *requestState {
	s, _ := ctx.Value(requestStateKey{}).(*requestState)
	return s
}

// ---- 2. ID token algorithm per client (OpenID Connect Registration's
// id_token_signed_response_alg) ----
//
// op.CreateIDToken calls Storage.SigningKey(ctx) without the client. The library loads the
// authenticated client with GetClientByClientID before it creates any token (op.CodeExchange,
// op.RefreshTokenExchange, op.ClientCredentialsExchange; handleDeviceToken likewise), so that
// call records the client's algorithm in the request's state and SigningKey reads it.

// clientLoaded records the algorithm of the client the request serves.
func (s *requestState) clientLoaded(p storage.ClientProfile) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.idTokenAlg = p.IDTokenAlg
	s.mu.Unlock()
}

// idTokenAlgorithm is the algorithm of the key SigningKey must return now.
func (s *requestState) idTokenAlgorithm() string {
	if s == nil {
		return signingAlgorithm
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idTokenAlg == "" {
		return signingAlgorithm
	}
	return s.idTokenAlg
}

// SigningKey is the key of the ID token being signed, of its client's algorithm. (JWT access
// tokens never come here: requestCrypto signs them, ES256.)
func (s *opStorage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.keys.SigningKey(ctx, requestStateFrom(ctx).idTokenAlgorithm())
}

// ---- 3. JWT access tokens as RFC 9068 at+jwt ----
//
// Every client is AccessTokenTypeBearer for zitadel, which makes an access token by
// Storage.CreateAccessToken (or CreateAccessAndRefreshTokens) and then
// Crypto().Encrypt("tokenID:subject") on the TokenCreator of the request (op.CreateAccessToken,
// op.CreateBearerToken). The hand-off between those two callbacks of the SAME request is the
// request's state: the storage records the claims of a JWT-format client's token there
// (expectJWT), and the request's crypto (exchanger, requestCrypto) takes them and signs an
// at+jwt instead of encrypting, with the request's context. Nothing is kept in the process
// between requests.

// AccessTokenType is always bearer for zitadel (see above).
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

// expectJWT records, in the request's state, that the stored access token t of a JWT-format
// client must leave as an at+jwt.
func (s *opStorage) expectJWT(ctx context.Context, r op.TokenRequest, t storage.AccessToken) {
	st := requestStateFrom(ctx)
	if st == nil {
		return
	}
	c, err := s.client(ctx, t.ClientID)
	if err != nil || c.AccessTokenFormat != AccessTokenJWT {
		return
	}
	p := pendingJWT{
		clientID: t.ClientID, audience: t.Audience, scopes: t.Scopes, issuer: op.IssuerFromContext(ctx),
		issued: t.CreatedAt, expires: t.ExpiresAt,
	}
	if at, ok := r.(interface{ GetAuthTime() time.Time }); ok {
		p.authTime = at.GetAuthTime()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pendingJWT == nil {
		st.pendingJWT = map[string]pendingJWT{}
	}
	st.pendingJWT[t.ID] = p
}

func (s *requestState) takeJWT(id string) (pendingJWT, bool) {
	if s == nil {
		return pendingJWT{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pendingJWT[id]
	delete(s.pendingJWT, id)
	return p, ok
}

// requestCrypto is the token crypto of one request: zitadel's AES-GCM, with at+jwt access
// tokens signed (Encrypt) and verified (Decrypt) under the request's context.
type requestCrypto struct {
	ctx   context.Context
	inner op.Crypto
	jwt   *jwtAccess
}

func (c requestCrypto) Encrypt(s string) (string, error) {
	if id, subject, ok := strings.Cut(s, ":"); ok {
		if p, ok := requestStateFrom(c.ctx).takeJWT(id); ok {
			return c.jwt.sign(c.ctx, id, subject, p)
		}
	}
	return c.inner.Encrypt(s)
}

func (c requestCrypto) Decrypt(s string) (string, error) {
	if strings.Count(s, ".") == 2 {
		claims, err := c.jwt.verify(c.ctx, s)
		if err != nil {
			return "", err
		}
		return claims.JWTID + ":" + claims.Subject, nil
	}
	return c.inner.Decrypt(s)
}

// tokenCrypto is the token crypto for the request whose context ctx is.
func (p *Provider) tokenCrypto(ctx context.Context) op.Crypto {
	return requestCrypto{ctx: ctx, inner: p.op.Crypto(), jwt: p.storage.jwt}
}

// exchanger is the library's provider with this request's token crypto: what otpidp passes to
// op.Exchange, op.Revoke and op.CreateDeviceTokenResponse instead of the provider itself.
type exchanger struct {
	*op.Provider
	crypto op.Crypto
}

func (e exchanger) Crypto() op.Crypto { return e.crypto }

func (p *Provider) exchanger(ctx context.Context) exchanger {
	return exchanger{Provider: p.op, crypto: p.tokenCrypto(ctx)}
}

// ---- 4. client assertions (private_key_jwt) ----
//
// op.ClientJWTProfile (through op.AuthorizeCodeClient, op.AuthorizeRefreshClient) accepts an
// assertion whose aud is the issuer only, keeps no jti and bounds no lifetime, and
// op.ClientCredentialsExchange never calls it. otpidp verifies every assertion itself
// (verifyClientAssertion) before the library sees the request, and rewrites a verified one
// into a client_secret_post request whose secret is a random proof kept in the request's
// state only: AuthorizeClientIDSecret accepts it (checkAssertionProof), and opClient.AuthMethod
// lets the private_key_jwt client take the secret path for this request only.

// withAssertionProof records that this request's client assertion authenticated clientID.
func withAssertionProof(ctx context.Context, clientID, proof string) context.Context {
	ctx, s := withRequestState(ctx)
	s.mu.Lock()
	s.assertion = assertionProof{clientID, proof}
	s.mu.Unlock()
	return ctx
}

func (s *requestState) assertionOf() assertionProof {
	if s == nil {
		return assertionProof{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assertion
}

// assertedClient reports whether this request's client assertion authenticated clientID.
func assertedClient(ctx context.Context, clientID string) bool {
	p := requestStateFrom(ctx).assertionOf()
	return clientID != "" && p.clientID == clientID
}

// checkAssertionProof reports whether secret is this request's proof for clientID.
func checkAssertionProof(ctx context.Context, clientID, secret string) bool {
	p := requestStateFrom(ctx).assertionOf()
	return clientID != "" && p.clientID == clientID && p.proof != "" &&
		subtle.ConstantTimeCompare([]byte(p.proof), []byte(secret)) == 1
}

func (c *opClient) AuthMethod() oidc.AuthMethod {
	switch {
	case c.c.Public:
		return oidc.AuthMethodNone
	case c.p.AuthMethod == AuthMethodPrivateKeyJWT && !c.asserted:
		// The library's secret path refuses it; a verified assertion takes the secret path
		// with its one-request proof.
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic
}

// clientAssertions verifies client assertions on the paths given, before the handlers see them.
func (p *Provider) clientAssertions(paths map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !paths[r.URL.Path] || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			oautherr.Write(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("cannot parse the form"))
			return
		}
		form := r.PostForm
		if form.Get("client_assertion") == "" && form.Get("client_assertion_type") == "" {
			next.ServeHTTP(w, r)
			return
		}
		clientID, err := p.verifyClientAssertion(r)
		if err != nil {
			p.storage.log.InfoContext(r.Context(), "client assertion refused", "path", r.URL.Path, "reason", err.Error())
			if _, _, basic := r.BasicAuth(); basic {
				w.Header().Set("WWW-Authenticate", `Basic realm="`+p.issuer+`"`)
			}
			oautherr.Write(w, http.StatusUnauthorized, oidc.ErrInvalidClient().WithDescription("client authentication failed"))
			return
		}
		proof, err := randomToken()
		if err != nil {
			oautherr.Write(w, http.StatusInternalServerError, oidc.ErrServerError())
			return
		}
		// From here on the request is a client_secret_post request of clientID.
		rewritten := url.Values{}
		for k, v := range form {
			if k != "client_assertion" && k != "client_assertion_type" {
				rewritten[k] = v
			}
		}
		rewritten.Set("client_id", clientID)
		rewritten.Set("client_secret", proof)
		r = r.WithContext(withAssertionProof(r.Context(), clientID, proof))
		r.PostForm, r.Form = rewritten, rewritten
		next.ServeHTTP(w, r)
	})
}

// ---- 5. the device grant's family ----
//
// op.CreateDeviceTokenResponse hands Storage.CreateAccessAndRefreshTokens an
// *op.DeviceAuthorizationState, which has no ID: handleDeviceToken records the device
// authorization in the request's state, and grantOf reads it as the tokens' family.

// withDeviceFamily records the device authorization whose tokens this request issues.
func withDeviceFamily(ctx context.Context, deviceAuthorizationID string) context.Context {
	ctx, s := withRequestState(ctx)
	s.mu.Lock()
	s.deviceFamily = deviceAuthorizationID
	s.mu.Unlock()
	return ctx
}

func (s *requestState) deviceFamilyOf() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deviceFamily
}

// grantOf says which family and client a token request belongs to.
func grantOf(ctx context.Context, r op.TokenRequest) (familyID, clientID string, audience []string) {
	switch v := r.(type) {
	case *op.DeviceAuthorizationState:
		return requestStateFrom(ctx).deviceFamilyOf(), v.ClientID, v.GetAudience()
	case authRequest:
		return v.a.ID, v.a.ClientID, v.GetAudience()
	case *refreshRequest:
		return v.t.FamilyID, v.t.ClientID, v.t.Audience
	case *clientCredentialsRequest:
		return "", v.clientID, v.GetAudience()
	}
	return "", "", r.GetAudience()
}

// ---- 6. codes and refresh token families ----

// familyPrefix marks the "token ID" GetRefreshTokenInfo returns, so that RevokeToken, which
// op.Revoke gives only that ID, can tell a refresh token (revoke its family) from an access
// token ID.
const familyPrefix = "family:"

// checkGrant runs before the library sees a code or refresh token grant: zitadel's
// AuthorizeCodeClient consumes the code (Storage.AuthRequestByCode, which revokes on replay)
// before it authenticates the client or checks PKCE, and RefreshTokenExchange compares the
// token's client with the caller only after TokenRequestByRefreshToken (which revokes on
// replay). So the client is authenticated, and the code or token found without changing it
// and checked to be that client's (a code's PKCE verifier and redirect URI too), first: a
// request that fails here consumes nothing and revokes nothing. nil: go on to the library.
func (p *Provider) checkGrant(r *http.Request) (int, *oidc.Error) {
	ctx := r.Context()
	grant := r.PostForm.Get("grant_type")
	if grant != string(oidc.GrantTypeCode) && grant != string(oidc.GrantTypeRefreshToken) {
		return 0, nil
	}
	c, err := p.identifyClient(r)
	if err != nil {
		p.storage.log.InfoContext(ctx, "token request refused", "grant_type", grant, "reason", err.Error())
		return http.StatusUnauthorized, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if grant == string(oidc.GrantTypeRefreshToken) {
		t, err := p.storage.store.GetRefreshTokenByHash(ctx, hashValue(r.PostForm.Get("refresh_token")))
		if err == nil && t.ClientID != c.ID {
			p.storage.log.WarnContext(ctx, "refresh token presented by another client", "client_id", c.ID)
			return http.StatusBadRequest, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
		}
		return 0, nil
	}
	a, err := p.storage.store.GetAuthRequestByCode(ctx, hashValue(r.PostForm.Get("code")))
	if err != nil {
		return 0, nil // unknown: the library answers invalid_grant, and there is nothing to consume
	}
	if a.ClientID != c.ID {
		p.storage.log.WarnContext(ctx, "authorization code presented by another client", "client_id", c.ID)
		return http.StatusBadRequest, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	if err := op.AuthorizeCodeChallenge(r.PostForm.Get("code_verifier"), authRequest{a}.GetCodeChallenge()); err != nil {
		e := oidc.DefaultToServerError(err, "invalid code_verifier")
		return http.StatusBadRequest, e
	}
	if r.PostForm.Get("redirect_uri") != a.RedirectURI {
		return http.StatusBadRequest, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	return 0, nil
}

// identifyClient authenticates the token request's client as the library will
// (client_secret_basic, client_secret_post, a verified assertion's proof); a public client
// identifies itself by client_id alone.
func (p *Provider) identifyClient(r *http.Request) (storage.Client, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return storage.Client{}, errors.New("malformed basic credentials")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return storage.Client{}, errors.New("no client_id")
	}
	c, err := p.storage.client(r.Context(), id)
	if err != nil {
		return storage.Client{}, fmt.Errorf("client: %w", err)
	}
	if c.Public {
		return c, nil
	}
	if err := p.storage.AuthorizeClientIDSecret(r.Context(), id, secret); err != nil {
		return storage.Client{}, errors.New("wrong or missing client credentials")
	}
	return c, nil
}

// AuthRequestByCode redeems the code, exactly once, in the store. A second redemption revokes
// every token issued from the first (RFC 6749 §4.1.2). checkGrant has authenticated the
// client, and checked PKCE, before.
func (s *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	a, err := s.store.ConsumeAuthCode(ctx, hashValue(code), s.now())
	if errors.Is(err, storage.ErrAlreadyUsed) {
		if rerr := s.store.RevokeFamily(ctx, a.ID, s.now()); rerr != nil {
			s.log.ErrorContext(ctx, "revoke tokens of a replayed code", "auth_request_id", a.ID, "error", rerr)
		}
		s.log.WarnContext(ctx, "authorization code replayed; its tokens are revoked", "client_id", a.ClientID, "auth_request_id", a.ID)
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was already used")
	}
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid or expired code")
	}
	return authRequest{a}, nil
}

// DeleteAuthRequest keeps the record, which op.CreateTokenResponse asks to delete after the
// code exchange: a redeemed code must stay recognizable so that a replay revokes its tokens.
// Garbage collection removes it when it expires.
func (s *opStorage) DeleteAuthRequest(context.Context, string) error { return nil }

// refreshGrace is how long a rotated refresh token may be presented again by its client
// (SECURITY.md OP-07); 0: never.
func (s *opStorage) refreshGrace() time.Duration {
	if s.cfg.RefreshGrace < 0 {
		return 0
	}
	return s.cfg.RefreshGrace
}

// TokenRequestByRefreshToken finds the refresh token (its client is the caller: checkGrant).
// A token used before is a replay, which revokes its family, unless it was rotated less than
// the grace period ago: concurrent refreshes of one client then each get a pair (RFC 9700
// §4.14.2 leaves the detection to the server; Okta, Auth0 and Hydra allow such a period).
func (s *opStorage) TokenRequestByRefreshToken(ctx context.Context, value string) (op.RefreshTokenRequest, error) {
	t, err := s.store.GetRefreshTokenByHash(ctx, hashValue(value))
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero(), !t.ExpiresAt.After(now), !t.IdleExpiresAt.After(now):
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid or expired refresh token")
	case !t.UsedAt.IsZero() && now.Sub(t.UsedAt) >= s.refreshGrace():
		s.revokeReplayedFamily(ctx, t)
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was already used")
	}
	if _, err := s.store.GetUser(ctx, t.UserID); err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("the user no longer exists")
	}
	return &refreshRequest{t: t, scopes: t.Scopes}, nil
}

// rotateRefresh replaces the refresh token of v by next (and stores access) atomically; a
// token rotated already (a replay past the grace period) revokes its family.
func (s *opStorage) rotateRefresh(ctx context.Context, v *refreshRequest, next storage.RefreshToken, access storage.AccessToken) error {
	next.AMR, next.AuthTime = v.t.AMR, v.t.AuthTime
	next.ExpiresAt = v.t.ExpiresAt // the absolute lifetime survives rotation
	if next.IdleExpiresAt.After(next.ExpiresAt) {
		next.IdleExpiresAt = next.ExpiresAt
	}
	err := s.store.RotateRefreshTokenGrace(ctx, v.t.ID, s.refreshGrace(), next, access, next.CreatedAt)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		s.revokeReplayedFamily(ctx, v.t)
		return oidc.ErrInvalidGrant().WithDescription("the refresh token was already used")
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		return oidc.ErrInvalidGrant().WithDescription("invalid or expired refresh token")
	case err != nil:
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	if !v.t.UsedAt.IsZero() {
		s.log.InfoContext(ctx, "rotated refresh token presented again within the grace period", "client_id", v.t.ClientID, "family_id", v.t.FamilyID)
	}
	s.audit.Record(ctx, audit.Entry{Event: audit.TokenRefreshed, UserID: next.UserID, ClientID: next.ClientID})
	return nil
}

func (s *opStorage) revokeReplayedFamily(ctx context.Context, t storage.RefreshToken) {
	if err := s.store.RevokeFamily(ctx, t.FamilyID, s.now()); err != nil {
		s.log.ErrorContext(ctx, "revoke replayed refresh token family", "family_id", t.FamilyID, "error", err)
	}
	s.log.WarnContext(ctx, "refresh token replayed; its family is revoked", "client_id", t.ClientID, "user_id", t.UserID, "family_id", t.FamilyID)
}

// GetRefreshTokenInfo finds a refresh token for op.Revoke. The family it returns is recorded
// in the request's state: RevokeToken honours a "family:" ID only when this request's caller
// presented a refresh token of that family (a caller could send the string itself).
func (s *opStorage) GetRefreshTokenInfo(ctx context.Context, clientID, value string) (string, string, error) {
	t, err := s.store.GetRefreshTokenByHash(ctx, hashValue(value))
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	st := requestStateFrom(ctx)
	if t.ClientID != clientID {
		// Another client's token: refused like another client's access token (RevokeToken).
		st.setRevocation("", true)
		return "", "", op.ErrInvalidRefreshToken
	}
	st.setRevocation(t.FamilyID, false)
	return t.UserID, familyPrefix + t.FamilyID, nil
}

func (s *requestState) setRevocation(family string, foreign bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.family, s.foreignToken = family, foreign
	s.mu.Unlock()
}

func (s *requestState) revocation() (family string, foreign bool) {
	if s == nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.family, s.foreignToken
}

// RevokeToken revokes an access token (by ID) or a refresh token's whole family (RFC 7009),
// only the caller's own: another client's token answers invalid_client (RFC 7009 §2.1), and a
// "family:" string the caller made up is an unknown token (nothing revoked, RFC 7009 §2.2).
func (s *opStorage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	now := s.now()
	family, foreign := requestStateFrom(ctx).revocation()
	if foreign {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if fam, ok := strings.CutPrefix(tokenOrID, familyPrefix); ok {
		if fam == "" || fam != family {
			s.log.WarnContext(ctx, "revocation of a family the caller presented no token of", "client_id", clientID)
			return nil
		}
		if err := s.store.RevokeFamily(ctx, fam, now); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		s.audit.Record(ctx, audit.Entry{Event: audit.TokenRevoked, UserID: userID, ClientID: clientID, Detail: "refresh"})
		return nil
	}
	t, err := s.store.GetAccessToken(ctx, tokenOrID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // unknown tokens: nothing to do (RFC 7009 §2.2)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if err := s.store.RevokeAccessToken(ctx, t.ID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return oidc.ErrServerError().WithParent(err)
	}
	s.audit.Record(ctx, audit.Entry{Event: audit.TokenRevoked, UserID: t.UserID, ClientID: clientID, Detail: "access"})
	return nil
}

// ---- 7. endpoint overrides ----

// routes puts otpidp's own endpoints in front of zitadel/oidc's router (op.CreateRouter):
//   - discovery: the library's advertises what otpidp does not offer (discovery.go);
//   - authorize and its callback: the library's send no iss (RFC 9207), no errors in
//     form_post mode, and answer neither prompt=none nor consent (authorize.go);
//   - introspection and userinfo: the library answers an unauthenticated introspection with
//     plain text, takes client_secret_post nowhere there, and answers a bad userinfo token
//     without WWW-Authenticate (introspection.go);
//   - token and revocation: the library's handlers, run with this request's token crypto
//     (token.go), and the device code grant (device.go);
//   - device authorization: the library's does not authenticate client_secret_post clients
//     and uses the wall clock (device.go).
//
// Every other path (JWKS, end_session, health) goes to the library.
func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	own := func(h http.HandlerFunc) http.Handler { return p.IssuerInterceptor(h) }
	mux.Handle(oidc.DiscoveryEndpoint, own(p.handleDiscovery))
	mux.Handle(p.op.AuthorizationEndpoint().Relative(), own(p.handleAuthorize))
	mux.Handle(p.CallbackPath(), own(p.handleCallback))
	mux.Handle(p.op.IntrospectionEndpoint().Relative(), own(p.handleIntrospect))
	mux.Handle(p.op.UserinfoEndpoint().Relative(), own(p.handleUserinfo))
	mux.Handle(p.op.TokenEndpoint().Relative(), own(p.handleToken))
	mux.Handle(p.op.RevocationEndpoint().Relative(), own(p.handleRevocation))
	mux.Handle(DeviceAuthorizationPath, own(p.handleDeviceAuthorization))
	mux.Handle("/", p.op)
	return mux
}

// wrap mends what zitadel/oidc leaves open around every endpoint, and gives each request its
// requestState: the token endpoint takes POST only (op.tokenHandler takes any method);
// token, introspection, userinfo, revocation and device answers are never cached; CORS only
// for origins of registered redirect URIs, only on the endpoints browsers call cross-origin,
// never on authorize (op.CreateRouter allows every origin everywhere by default); a failed
// HTTP Basic client is challenged (op.RequestError sends no WWW-Authenticate).
func (p *Provider) wrap(next http.Handler) http.Handler {
	token := p.op.TokenEndpoint().Relative()
	introspect, userinfo, revoke := p.op.IntrospectionEndpoint().Relative(), p.op.UserinfoEndpoint().Relative(), p.op.RevocationEndpoint().Relative()
	noStore := map[string]bool{token: true, introspect: true, userinfo: true, revoke: true, DeviceAuthorizationPath: true}
	corsPaths := map[string]bool{token: true, userinfo: true, revoke: true, p.op.KeysEndpoint().Relative(): true, oidc.DiscoveryEndpoint: true}
	clientAuth := map[string]bool{token: true, introspect: true, revoke: true, DeviceAuthorizationPath: true}
	next = p.clientAssertions(clientAuth, next)
	origins := &originCache{store: p.storage.store, now: p.storage.cfg.Now, ttl: 30 * time.Second}
	corsHandler := cors.New(cors.Options{
		AllowOriginVaryRequestFunc: func(r *http.Request, origin string) (bool, []string) {
			return corsPaths[r.URL.Path] && origins.allowed(r.Context(), origin), nil
		},
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		// A script must read why a bearer token or client was refused (RFC 6750 §3).
		ExposedHeaders: []string{"WWW-Authenticate"},
		MaxAge:         600,
	})
	hsts := strings.HasPrefix(p.issuer, "https://")
	return corsHandler.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _ := withRequestState(r.Context())
		r = r.WithContext(ctx)
		if hsts {
			// The pages' value (ui.SecurityHeaders): protocol answers are as sensitive.
			w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if noStore[r.URL.Path] {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
		}
		if r.URL.Path == token && r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			oautherr.Write(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("the token endpoint takes POST only"))
			return
		}
		if _, _, basic := r.BasicAuth(); basic && clientAuth[r.URL.Path] {
			// RFC 6749 §5.2: a client that tried HTTP Basic and failed is challenged.
			w = &basicChallenge{ResponseWriter: w, realm: p.issuer}
		}
		next.ServeHTTP(w, r)
	}))
}

// basicChallenge adds WWW-Authenticate: Basic to a 401 answer (the library's token and
// revocation endpoints send none).
type basicChallenge struct {
	http.ResponseWriter
	realm string
}

func (b *basicChallenge) WriteHeader(status int) {
	if status == http.StatusUnauthorized && b.Header().Get("WWW-Authenticate") == "" {
		b.Header().Set("WWW-Authenticate", `Basic realm="`+b.realm+`"`)
	}
	b.ResponseWriter.WriteHeader(status)
}

func (b *basicChallenge) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// ---- 8. library options and refused features ----

// newOP builds zitadel's provider on st:
//   - op.WithCrypto: AES-GCM only, so that legacy unauthenticated AES-CFB tokens (op.NewAESCrypto,
//     the default) never decrypt; JWT access tokens are woven in per request (3);
//   - the library's CORS refuses every origin: wrap applies otpidp's, per route and origin;
//   - id_token_hint may be any client's ID token, whatever algorithm it registered (the
//     hint verifier takes RS256, ES256 and PS256 by default, not EdDSA).
func newOP(cfg Config, st *opStorage, key [32]byte, insecure bool) (*op.Provider, error) {
	opCfg := &op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       uiLocaleTags(cfg.UILocales),
		SupportedClaims:          supportedClaims,
		SupportedScopes:          supportedScopes,
	}
	opts := []op.Option{
		op.WithCrypto(op.NewAES256GCMCrypto(key, "")),
		op.WithCORSOptions(&cors.Options{AllowOriginFunc: func(string) bool { return false }}),
		op.WithLogger(cfg.Logger),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(idTokenAlgs...)),
	}
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(opCfg, st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("openid provider: %w", err)
	}
	return p, nil
}

// uiLocaleTags parses the pages' languages for the library (which advertises nothing of them:
// discovery is otpidp's own).
func uiLocaleTags(locales []string) []language.Tag {
	var tags []language.Tag
	for _, l := range locales {
		if t, err := language.Parse(l); err == nil {
			tags = append(tags, t)
		}
	}
	return tags
}

// GetPrivateClaimsFromScopes adds no claims. The library calls it only while it builds its own
// JWT access tokens (op.CreateJWT), which otpidp does not use (3).
func (s *opStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID refuses: zitadel's own private_key_jwt check is never reached, because
// clientAssertions checks every client assertion (aud, exp, single-use jti) first (4).
func (s *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("private_key_jwt is not supported")
}

// ValidateJWTProfileScopes: the JWT profile grant is not offered.
func (s *opStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// ---- 9. ID tokens only for openid ----

// tokensIssued records the scopes of the tokens this request issues.
func (s *requestState) tokensIssued(scopes []string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.scopes, s.issued = slices.Clone(scopes), true
	s.mu.Unlock()
}

// withoutOpenID reports whether this request issued tokens without the openid scope.
func (s *requestState) withoutOpenID() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued && !slices.Contains(s.scopes, oidc.ScopeOpenID)
}

// idTokenFilter holds a token response until flush, which drops its id_token when the
// request's tokens were issued without openid.
type idTokenFilter struct {
	w      http.ResponseWriter
	state  *requestState
	status int
	body   bytes.Buffer
}

// withoutIDTokenUnlessOpenID returns the writer a token endpoint handler writes to; the caller
// must flush it. r's context must carry the request's state (wrap gives every request one).
func withoutIDTokenUnlessOpenID(w http.ResponseWriter, r *http.Request) *idTokenFilter {
	return &idTokenFilter{w: w, state: requestStateFrom(r.Context())}
}

func (f *idTokenFilter) Header() http.Header { return f.w.Header() }

func (f *idTokenFilter) WriteHeader(status int) {
	if f.status == 0 {
		f.status = status
	}
}

func (f *idTokenFilter) Write(b []byte) (int, error) {
	if f.status == 0 {
		f.status = http.StatusOK
	}
	return f.body.Write(b)
}

func (f *idTokenFilter) flush() {
	if f.status == 0 {
		f.status = http.StatusOK
	}
	body := f.body.Bytes()
	if f.status == http.StatusOK && f.state.withoutOpenID() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err == nil {
			if _, ok := m["id_token"]; ok {
				delete(m, "id_token")
				if b, err := json.Marshal(m); err == nil {
					body = b
				}
			}
		}
	}
	f.w.Header().Del("Content-Length")
	f.w.WriteHeader(f.status)
	_, _ = f.w.Write(body)
}
