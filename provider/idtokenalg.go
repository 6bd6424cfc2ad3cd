package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// ID token signing algorithm per client (OpenID Connect Registration's
// id_token_signed_response_alg): RS256 unless the client registered ES256 or EdDSA. How
// SigningKey learns the client of the ID token it signs is the zitadel seam's
// (zitadel_seam.go, 2). JWT access tokens do not go through SigningKey: they are ES256 at+jwt
// (jwtaccess.go).

// idTokenAlgs are the algorithms a client may register for its ID tokens; RS256 is the default.
var idTokenAlgs = []string{"RS256", "ES256", "EdDSA"}

// ensureAlg creates the first key of alg when the store has none (it signs at once: nothing
// refers to that algorithm yet). Instances racing on it agree on one key.
func (k *keys) ensureAlg(ctx context.Context, alg string) error {
	all, err := k.load(ctx, true)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(all, func(p parsedKey) bool { return p.rec.Algorithm == alg }) {
		return nil
	}
	first, err := newSigningKey(alg, 1, k.now().UTC())
	if err != nil {
		return err
	}
	if err := k.store.CreateSigningKey(ctx, first); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("store %s signing key: %w", alg, err)
	}
	_, err = k.load(ctx, true)
	return err
}

// EnsureIDTokenKeys makes sure the store has a key of every algorithm a registered client signs
// its ID tokens with (and RS256), creating the missing ones.
func EnsureIDTokenKeys(ctx context.Context, store storage.Storage, now func() time.Time) error {
	k := &keys{store: store, now: now, ttl: 0}
	need := []string{signingAlgorithm}
	clients, err := store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	for _, c := range clients {
		p, err := store.GetClientProfile(ctx, c.ID)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("client profile %q: %w", c.ID, err)
		}
		if p.IDTokenAlg != "" && !slices.Contains(need, p.IDTokenAlg) {
			need = append(need, p.IDTokenAlg)
		}
	}
	for _, alg := range need {
		if err := k.ensureAlg(ctx, alg); err != nil {
			return err
		}
	}
	return nil
}
