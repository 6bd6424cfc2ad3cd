package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// JWT access tokens (RFC 9068).
//
// zitadel/oidc signs JWT access tokens itself with the ID token key and a "typ: JWT" header,
// which RFC 9068 §2.1 forbids (it asks for "at+jwt", so that an ID token can never pass for an
// access token). otpidp lets zitadel make every access token as an opaque "bearer" token and
// has the request's token crypto sign an at+jwt instead for JWT-format clients (the zitadel
// seam, zitadel_seam.go, 3). This file is the token format: its claims, signing and
// verification. Every path that reads access tokens (userinfo, introspection, revocation)
// treats both formats alike, the at_hash of the ID token is computed over the token the client
// gets, and the stored record still decides whether the token is active.

// accessTokenAlgorithm signs JWT access tokens: ES256 costs a fraction of RS256 per signature.
const accessTokenAlgorithm = "ES256"

// atJWTType is the JOSE "typ" of JWT access tokens (RFC 9068 §2.1).
const atJWTType = "at+jwt"

// pendingJWT is what the storage knows about a JWT access token it has just stored, until the
// token response of the same request signs it.
type pendingJWT struct {
	clientID string
	audience []string
	scopes   []string
	issuer   string
	issued   time.Time
	expires  time.Time
	authTime time.Time
}

// jwtAccess signs and verifies otpidp's JWT access tokens.
type jwtAccess struct {
	keys *keys
	now  func() time.Time
}

// atClaims are the claims of an at+jwt (RFC 9068 §2.2).
type atClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JWTID    string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
}

func (j *jwtAccess) sign(ctx context.Context, id, subject string, p pendingJWT) (string, error) {
	key, err := j.keys.SigningKey(ctx, accessTokenAlgorithm)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: key.SignatureAlgorithm(),
		Key:       &jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()},
	}, (&jose.SignerOptions{}).WithType(atJWTType))
	if err != nil {
		return "", fmt.Errorf("access token signer: %w", err)
	}
	c := atClaims{
		Issuer: p.issuer, Subject: subject, Audience: p.audience, Expiry: p.expires.Unix(),
		IssuedAt: p.issued.Unix(), JWTID: id, ClientID: p.clientID, Scope: strings.Join(p.scopes, " "),
	}
	if !p.authTime.IsZero() {
		c.AuthTime = p.authTime.Unix()
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return jws.CompactSerialize()
}

// verify checks an at+jwt: the type, the algorithm, a signature by one of our published keys,
// the expiry; it returns its claims. Whether the token is still active is the record's to say.
func (j *jwtAccess) verify(ctx context.Context, token string) (atClaims, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return atClaims{}, err
	}
	if len(jws.Signatures) != 1 {
		return atClaims{}, errors.New("access token: one signature expected")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, atJWTType) && !strings.EqualFold(typ, "application/"+atJWTType) {
		return atClaims{}, errors.New("access token: not an at+jwt")
	}
	all, err := j.keys.load(ctx, false)
	if err != nil {
		return atClaims{}, err
	}
	i := slices.IndexFunc(all, func(p parsedKey) bool { return p.rec.ID == h.KeyID && p.rec.Algorithm == accessTokenAlgorithm })
	if i < 0 {
		return atClaims{}, errors.New("access token: unknown key")
	}
	payload, err := jws.Verify(all[i].signer.Public())
	if err != nil {
		return atClaims{}, err
	}
	var c atClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return atClaims{}, err
	}
	if c.JWTID == "" || !time.Unix(c.Expiry, 0).After(j.now()) {
		return atClaims{}, errors.New("access token: expired or without jti")
	}
	return c, nil
}
