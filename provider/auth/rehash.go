package auth

import (
	"context"
	"strings"

	"github.com/otpidp/otpidp/storage"
)

// NeedsRehash reports whether a stored hash should be replaced at the next successful sign-in:
// a bcrypt hash (imported users), or an argon2id hash made with other parameters than the
// configured ones (PH-03, PH-04).
func (a *Authenticator) NeedsRehash(encoded string) bool {
	if !strings.HasPrefix(encoded, "$argon2id$") {
		return true
	}
	p, _, _, err := decodePHC(encoded)
	if err != nil {
		return true
	}
	want := a.cfg.Argon2
	return p.Memory != want.Memory || p.Time != want.Time || p.Threads != want.Threads ||
		p.KeyLen != want.KeyLen || p.SaltLen != want.SaltLen
}

// upgradeHash replaces the user's stored hash with one of the configured parameters when it is
// outdated; password has just been verified against it. A failure is logged: the sign-in goes
// on, and the next one tries again.
func (a *Authenticator) upgradeHash(ctx context.Context, u storage.User, password string) {
	if !a.NeedsRehash(u.PasswordHash) {
		return
	}
	hash, err := a.hashNormalized(ctx, normalizePassword(password))
	if err != nil {
		a.log.ErrorContext(ctx, "rehash password", "user_id", u.ID, "error", err)
		return
	}
	if err := a.store.UpdateUserPassword(ctx, u.ID, hash, a.clock()); err != nil {
		a.log.ErrorContext(ctx, "store rehashed password", "user_id", u.ID, "error", err)
		return
	}
	old := "argon2id"
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		old = "bcrypt"
	}
	a.log.InfoContext(ctx, "password hash upgraded", "user_id", u.ID, "from", old)
	a.audit(ctx, EventPasswordRehash, u.ID, "", "", "from "+old)
}
