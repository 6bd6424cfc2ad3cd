package provider

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/storage"
)

// keys reads signing keys from the store and caches them for a short time, so that every
// instance signs with the same key and JWKS is the same everywhere; SigningKey and KeySet are
// called on every token and JWKS request, so they must not go to the database each time.
type keys struct {
	store storage.Storage
	now   func() time.Time
	ttl   time.Duration

	mu      sync.Mutex
	cached  []parsedKey
	fetched time.Time
}

type parsedKey struct {
	rec    storage.SigningKey
	signer crypto.Signer
}

// signingAlgorithm is the ID token algorithm every OpenID relying party supports (OIDC Core
// §3.1.3.7 makes RS256 the default).
const signingAlgorithm = "RS256"

// ensure creates the first RS256 key when there is none. Instances starting together race on
// (algorithm, generation) in the store; the loser reads the winner's key.
func (k *keys) ensure(ctx context.Context) error {
	all, err := k.load(ctx, true)
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.rec.Algorithm == signingAlgorithm {
			return nil
		}
	}
	// The first key signs at once: no relying party can have cached an older JWKS.
	first, err := newSigningKey(signingAlgorithm, 1, k.now().UTC())
	if err != nil {
		return err
	}
	err = k.store.CreateSigningKey(ctx, first)
	if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("store signing key: %w", err)
	}
	_, err = k.load(ctx, true)
	return err
}

// load returns the parsed keys, from the cache while it is fresh.
func (k *keys) load(ctx context.Context, force bool) ([]parsedKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if !force && k.cached != nil && now.Sub(k.fetched) < k.ttl {
		return k.cached, nil
	}
	recs, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		if k.cached != nil {
			// Keep signing with what we know while the database is away.
			return k.cached, nil
		}
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	parsed := make([]parsedKey, 0, len(recs))
	for _, r := range recs {
		raw, err := x509.ParsePKCS8PrivateKey(r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.ID, err)
		}
		s, ok := raw.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("signing key %s: not a signer", r.ID)
		}
		parsed = append(parsed, parsedKey{rec: r, signer: s})
	}
	k.cached, k.fetched = parsed, now
	return parsed, nil
}

// SigningKey is the newest active, unexpired key of the signing algorithm alg. When the store
// has no key of alg at all (a client registered it since this instance started), it creates one.
func (k *keys) SigningKey(ctx context.Context, alg string) (op.SigningKey, error) {
	best, err := k.active(ctx, alg)
	if err == nil && best == nil {
		if err = k.ensureAlg(ctx, alg); err == nil {
			best, err = k.active(ctx, alg)
		}
	}
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, fmt.Errorf("no active %s signing key", alg)
	}
	return signingKey{best.rec.ID, jose.SignatureAlgorithm(best.rec.Algorithm), best.signer}, nil
}

func (k *keys) active(ctx context.Context, alg string) (*parsedKey, error) {
	all, err := k.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := k.now()
	var best *parsedKey
	for i := range all {
		p := &all[i]
		if p.rec.Algorithm != alg || p.rec.ActiveAt.After(now) || expired(p.rec, now) {
			continue
		}
		if best == nil || p.rec.Generation > best.rec.Generation {
			best = p
		}
	}
	return best, nil
}

// KeySet is every published key: those not expired, including keys not yet active.
func (k *keys) KeySet(ctx context.Context) ([]op.Key, error) {
	all, err := k.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := k.now()
	out := make([]op.Key, 0, len(all))
	for _, p := range all {
		if expired(p.rec, now) {
			continue
		}
		out = append(out, publicKey{p.rec.ID, jose.SignatureAlgorithm(p.rec.Algorithm), p.signer.Public()})
	}
	return out, nil
}

func expired(k storage.SigningKey, now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(now)
}

type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.alg }
func (s signingKey) Key() any                                    { return s.key }
func (s signingKey) ID() string                                  { return s.id }

type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

func (p publicKey) ID() string                         { return p.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.key }
