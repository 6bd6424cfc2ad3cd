package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// Signing-key rotation (SECURITY.md REL-08, REL-09; OpenID Connect Core §10.1.1).
//
// A new key is stored with ActiveAt = now + lead time: every instance reads it within
// KeyCacheTTL and publishes it in JWKS, and relying parties that cache JWKS for up to the lead
// time fetch it, before any token carries its kid. From ActiveAt every instance signs with it
// (each switches on its own clock, with the list it has cached). The keys it supersedes get
// ExpiresAt = ActiveAt + retention, the longest a token they signed can still be presented:
// the longest token lifetime, plus KeyCacheTTL (an instance that has not reread the list may
// still sign with the old key that long after ActiveAt, after an emergency rotation), plus
// clock skew. Expired keys leave JWKS and are deleted.
//
// Instances rotate on a schedule, each checking now and then; the store's unique (algorithm,
// generation) lets exactly one of several instances that rotate at once create the new key.

// clockSkew is how far apart the clocks of instances and relying parties may be.
const clockSkew = 5 * time.Minute

// ErrAlreadyRotated is returned when another instance created the next key generation first.
var ErrAlreadyRotated = errors.New("another instance rotated the key first")

// leadTime is how long a new key is published before it signs: never less than the key cache
// TTL, so that every instance publishes it before any instance signs with it.
func (c Config) leadTime() time.Duration { return max(c.KeyLeadTime, c.KeyCacheTTL) }

// retention is how long a superseded key stays published after its successor became active.
func (c Config) retention() time.Duration {
	return max(c.IDTokenTTL, c.AccessTokenTTL) + c.KeyCacheTTL + clockSkew
}

// RotatedKey is what RotateSigningKey did.
type RotatedKey struct {
	ID        string    // kid of the new key
	Algorithm string    // its algorithm
	ActiveAt  time.Time // when instances start signing with it
	RetireAt  time.Time // when the keys it supersedes leave JWKS
}

// RotateSigningKey creates the next key of algorithm alg (the first one when there is none,
// which signs at once). It is published at once and signs from now + the lead time, or at once
// when immediate (an emergency: an instance may then sign
// with it up to KeyCacheTTL before another instance publishes it). ErrAlreadyRotated when
// another instance created that generation meanwhile.
func RotateSigningKey(ctx context.Context, store storage.Storage, cfg Config, alg string, immediate bool) (RotatedKey, error) {
	cfg.setDefaults()
	return rotate(ctx, store, cfg, alg, cfg.Now().UTC(), immediate)
}

func rotate(ctx context.Context, store storage.Storage, cfg Config, alg string, now time.Time, immediate bool) (RotatedKey, error) {
	all, err := store.ListSigningKeys(ctx)
	if err != nil {
		return RotatedKey{}, fmt.Errorf("list signing keys: %w", err)
	}
	gen := 0
	for _, k := range all {
		if k.Algorithm == alg {
			gen = max(gen, k.Generation)
		}
	}
	next, err := newSigningKey(alg, gen+1, now)
	if err != nil {
		return RotatedKey{}, err
	}
	// The first key of an algorithm signs at once: no token or JWKS cache refers to that
	// algorithm yet, and waiting would leave it without a signing key.
	if !immediate && gen > 0 {
		next.ActiveAt = now.Add(cfg.leadTime())
	}
	retireAt := next.ActiveAt.Add(cfg.retention())
	if err := store.RotateSigningKey(ctx, next, retireAt); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return RotatedKey{}, fmt.Errorf("rotate %s key to generation %d: %w", alg, gen+1, ErrAlreadyRotated)
		}
		return RotatedKey{}, fmt.Errorf("rotate %s key: %w", alg, err)
	}
	return RotatedKey{ID: next.ID, Algorithm: alg, ActiveAt: next.ActiveAt, RetireAt: retireAt}, nil
}

// newSigningKey generates a key of algorithm alg, active from now.
func newSigningKey(alg string, generation int, now time.Time) (storage.SigningKey, error) {
	var priv any
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return storage.SigningKey{}, fmt.Errorf("signing algorithm %q is not supported", alg)
	}
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, err
	}
	kid, err := randomHex(8)
	if err != nil {
		return storage.SigningKey{}, err
	}
	return storage.SigningKey{ID: kid, Algorithm: alg, Generation: generation, PrivateKey: der, CreatedAt: now, ActiveAt: now}, nil
}

// rotateIfDue rotates every algorithm whose newest key is older than the rotation period, and
// deletes the keys that have expired. It returns the keys it created.
func (k *keys) rotateIfDue(ctx context.Context, cfg Config) ([]RotatedKey, error) {
	now := k.now().UTC()
	if err := k.store.DeleteExpiredSigningKeys(ctx, now); err != nil {
		return nil, fmt.Errorf("delete expired signing keys: %w", err)
	}
	all, err := k.load(ctx, true)
	if err != nil {
		return nil, err
	}
	var rotated []RotatedKey
	if cfg.KeyRotation < 0 {
		return nil, nil
	}
	newest := map[string]storage.SigningKey{}
	for _, p := range all {
		if n, ok := newest[p.rec.Algorithm]; !ok || p.rec.Generation > n.Generation {
			newest[p.rec.Algorithm] = p.rec
		}
	}
	var errs []error
	for alg, n := range newest {
		if now.Before(n.CreatedAt.Add(cfg.KeyRotation)) {
			continue
		}
		r, err := rotate(ctx, k.store, cfg, alg, now, false)
		switch {
		case errors.Is(err, ErrAlreadyRotated):
			// Another instance did it; we read its key below.
		case err != nil:
			errs = append(errs, err)
		default:
			rotated = append(rotated, r)
		}
	}
	if _, err := k.load(ctx, true); err != nil {
		errs = append(errs, err)
	}
	return rotated, errors.Join(errs...)
}

// MaintainKeys rotates the signing keys that are due (Config.KeyRotation) and deletes those
// that have expired. Every instance calls it now and then; when several rotate at once, one
// creates the key and the others read it.
func (p *Provider) MaintainKeys(ctx context.Context) ([]RotatedKey, error) {
	return p.storage.keys.rotateIfDue(ctx, p.storage.cfg)
}
