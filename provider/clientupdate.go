package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// ErrNoSecret: the client has no secret to rotate (a public client, or one that authenticates
// with private_key_jwt).
var ErrNoSecret = errors.New("the client has no secret: it is public or authenticates with private_key_jwt")

// SpecOf is the registration of a stored client and its profile, as ClientSpec.
func SpecOf(c storage.Client, p storage.ClientProfile) ClientSpec {
	return ClientSpec{
		Name: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		Public: c.Public, GrantTypes: c.GrantTypes, AccessTokenFormat: c.AccessTokenFormat,
		FirstParty: c.FirstParty, Scopes: p.Scopes, JWKS: p.JWKS, JWKSURI: p.JWKSURI, IDTokenAlg: p.IDTokenAlg,
	}
}

// UpdateClient changes a registered client: edit gets its registration and changes it; the
// result is validated as at registration (a *ClientError lists every problem) and stored in
// one transaction. The client ID, its secret and its kind (public, secret, or keys) stay: a
// client that changes kind is removed and added again. Running instances see the change within
// their client cache (a few seconds). storage.ErrNotFound when there is no such client.
func UpdateClient(ctx context.Context, store storage.Storage, id string, edit func(*ClientSpec), now time.Time) (ClientSpec, error) {
	var spec ClientSpec
	err := store.UpdateClient(ctx, id, func(c storage.Client, p storage.ClientProfile) (storage.Client, storage.ClientProfile, error) {
		before := SpecOf(c, p)
		spec = SpecOf(c, p)
		edit(&spec)
		if err := spec.Validate(); err != nil {
			return c, p, err
		}
		var kind []string
		if spec.Public != before.Public {
			kind = append(kind, "a client cannot change between public and confidential: remove it and add it again")
		}
		if spec.usesKeys() != before.usesKeys() {
			kind = append(kind, "a client cannot change between a secret and private_key_jwt: remove it and add it again")
		}
		if len(kind) > 0 {
			return c, p, &ClientError{Problems: kind}
		}
		c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs = spec.Name, spec.RedirectURIs, spec.PostLogoutRedirectURIs
		c.GrantTypes, c.AccessTokenFormat, c.FirstParty = spec.GrantTypes, spec.AccessTokenFormat, spec.FirstParty
		np := spec.profile(id)
		return c, np, nil
	})
	if err != nil {
		return ClientSpec{}, err
	}
	if spec.IDTokenAlg != "" {
		k := &keys{store: store, now: func() time.Time { return now }}
		if err := k.ensureAlg(ctx, spec.IDTokenAlg); err != nil {
			return spec, fmt.Errorf("signing key for the client's ID tokens: %w", err)
		}
	}
	return spec, nil
}

// RotateClientSecret gives a confidential client a new secret and returns it (shown once: only
// its keyed hash is stored). The old secret stops working at once in the store, and on running
// instances within their client cache (a few seconds). ErrNoSecret for a client without one;
// storage.ErrNotFound when there is no such client.
func RotateClientSecret(ctx context.Context, store storage.Storage, id string) (string, error) {
	key, err := clientSecretKey(ctx, store)
	if err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	err = store.UpdateClient(ctx, id, func(c storage.Client, p storage.ClientProfile) (storage.Client, storage.ClientProfile, error) {
		if len(c.SecretHash) == 0 {
			return c, p, ErrNoSecret
		}
		c.SecretHash = hashClientSecret(key, secret)
		return c, p, nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}
