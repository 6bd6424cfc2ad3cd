package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Limits on parameters read from a stored hash, so that a corrupt or hostile row cannot make
// one verification cost minutes or gigabytes.
const (
	maxArgon2Memory  = 1 << 20 // KiB: 1 GiB
	maxArgon2Time    = 64
	minArgon2SaltLen = 8
	maxArgon2SaltLen = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 64
	maxBcryptCost    = 16
	bcryptMaxBytes   = 72 // bcrypt ignores what follows; we refuse instead (PW-06)
)

// ErrMalformedHash: a stored password hash is neither a PHC argon2id string nor a bcrypt hash
// this package accepts.
var ErrMalformedHash = errors.New("auth: malformed password hash")

func (p Argon2Params) check() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("argon2 memory %d KiB out of range", p.Memory)
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2 time %d out of range", p.Time)
	case p.Threads < 1:
		return errors.New("argon2 threads must be at least 1")
	case p.SaltLen < minArgon2SaltLen || p.SaltLen > maxArgon2SaltLen:
		return fmt.Errorf("argon2 salt length %d out of range", p.SaltLen)
	case p.KeyLen < minArgon2KeyLen || p.KeyLen > maxArgon2KeyLen:
		return fmt.Errorf("argon2 key length %d out of range", p.KeyLen)
	}
	return nil
}

// normalizePassword is what is hashed: the NFKC form of the input (PW-07).
func normalizePassword(password string) string { return norm.NFKC.String(password) }

// HashPassword returns the PHC argon2id string of password, NFKC-normalized. It does not apply
// the policy (CheckPassword does); it refuses input over MaxPasswordBytes without hashing it.
func (a *Authenticator) HashPassword(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", &FieldError{Field: FieldPassword, Reason: ReasonTooLong}
	}
	return a.hashNormalized(ctx, normalizePassword(password))
}

// hashNormalized hashes an already normalized password with the configured parameters.
func (a *Authenticator) hashNormalized(ctx context.Context, password string) (string, error) {
	p := a.cfg.Argon2
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(a.rand, salt); err != nil {
		return "", fmt.Errorf("auth: generate salt: %w", err)
	}
	if err := a.acquireHash(ctx); err != nil {
		return "", err
	}
	defer a.releaseHash()
	a.hashCalls.Add(1)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// VerifyPassword reports whether password (NFKC-normalized) matches the stored hash: a PHC
// argon2id string, or a bcrypt hash ($2a$, $2b$, $2y$) of an imported user. A password over
// MaxPasswordBytes never matches and is not hashed. An error means the hash is malformed or
// ctx ended, not that the password is wrong.
func (a *Authenticator) VerifyPassword(ctx context.Context, password, encoded string) (bool, error) {
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	normalized := normalizePassword(password)
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, want, err := decodePHC(encoded)
		if err != nil {
			return false, err
		}
		if err := a.acquireHash(ctx); err != nil {
			return false, err
		}
		defer a.releaseHash()
		a.hashCalls.Add(1)
		got := argon2.IDKey([]byte(normalized), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		return subtle.ConstantTimeCompare(got, want) == 1, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || cost > maxBcryptCost {
			return false, fmt.Errorf("%w: bcrypt: cost %d: %v", ErrMalformedHash, cost, err)
		}
		// The hash may predate normalization: try the text as typed too.
		candidates := []string{normalized}
		if normalized != password {
			candidates = append(candidates, password)
		}
		if err := a.acquireHash(ctx); err != nil {
			return false, err
		}
		defer a.releaseHash()
		for _, c := range candidates {
			if len(c) > bcryptMaxBytes {
				continue
			}
			a.hashCalls.Add(1)
			err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(c))
			if err == nil {
				return true, nil
			}
			if !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
				return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
			}
		}
		return false, nil
	default:
		return false, ErrMalformedHash
	}
}

func (a *Authenticator) acquireHash(ctx context.Context) error {
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: wait to hash password: %w", context.Cause(ctx))
	}
}

func (a *Authenticator) releaseHash() { <-a.hashSem }

// encodePHC formats $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decodePHC parses a PHC argon2id string, checking every parameter is in range.
func decodePHC(s string) (Argon2Params, []byte, []byte, error) {
	bad := func(what string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: argon2id: %s", ErrMalformedHash, what)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("layout")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version")
	}
	var p Argon2Params
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return bad("parameters")
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + k)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("parameter p")
			}
			p.Threads = uint8(n)
		default:
			return bad("parameter " + k)
		}
	}
	if len(seen) != 3 {
		return bad("parameters")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return bad("salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return bad("hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return bad(err.Error())
	}
	return p, salt, key, nil
}

// HashMemoryBound is the most memory the password hashes of an Authenticator with cfg hold at
// once: the Argon2 memory of one hash times MaxConcurrentHashes (their defaults where cfg
// leaves them zero). The server sizes its memory limit from it.
func HashMemoryBound(cfg Config) uint64 {
	c := cfg.withDefaults()
	return uint64(c.Argon2.Memory) * 1024 * uint64(c.MaxConcurrentHashes)
}
