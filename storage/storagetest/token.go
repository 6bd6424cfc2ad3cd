package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func accessTokenTests() []subtest {
	return []subtest{
		{"AccessToken/CreateGetRevoke", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			user := newAccessToken("at1", "fam1", "c1", "u1")
			machine := storage.AccessToken{ID: "at2", FamilyID: "fam2", ClientID: "c2", Scopes: []string{"api"}, CreatedAt: at(0), ExpiresAt: at(time.Hour)}
			for _, a := range []storage.AccessToken{user, machine} {
				mustOK(t, "CreateAccessToken "+a.ID, s.CreateAccessToken(ctx, a))
			}
			for _, a := range []storage.AccessToken{user, machine} {
				got, err := s.GetAccessToken(ctx, a.ID)
				mustOK(t, "GetAccessToken "+a.ID, err)
				same(t, "GetAccessToken "+a.ID, a, got)
			}
			_, err := s.GetAccessToken(ctx, "nope")
			wantErr(t, "GetAccessToken absent", err, storage.ErrNotFound)
			wantErr(t, "CreateAccessToken same ID", s.CreateAccessToken(ctx, newAccessToken("at1", "fam3", "c2", "u2")), storage.ErrAlreadyExists)

			mustOK(t, "RevokeAccessToken", s.RevokeAccessToken(ctx, user.ID, at(time.Minute)))
			want := user
			want.RevokedAt = at(time.Minute)
			got, err := s.GetAccessToken(ctx, user.ID)
			mustOK(t, "GetAccessToken", err)
			same(t, "GetAccessToken after RevokeAccessToken", want, got)
			got, err = s.GetAccessToken(ctx, machine.ID)
			mustOK(t, "GetAccessToken at2", err)
			same(t, "GetAccessToken at2 after revoking at1", machine, got)
			wantErr(t, "RevokeAccessToken absent", s.RevokeAccessToken(ctx, "nope", at(0)), storage.ErrNotFound)
		}},
	}
}

func refreshTokenTests() []subtest {
	return []subtest{
		{"RefreshToken/CreateGet", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			r := newRefreshToken("r1", "fam1", "c1", "u1")
			r.UsedAt = at(-time.Second)
			r.RevokedAt = at(-time.Millisecond)
			bare := storage.RefreshToken{ID: "r2", TokenHash: hash("r2"), FamilyID: "fam2", ClientID: "c2", UserID: "u2", ExpiresAt: at(time.Hour), IdleExpiresAt: at(time.Hour)}
			for _, rt := range []storage.RefreshToken{r, bare} {
				mustOK(t, "CreateRefreshToken "+rt.ID, s.CreateRefreshToken(ctx, rt))
			}
			for _, rt := range []storage.RefreshToken{r, bare} {
				got, err := s.GetRefreshTokenByHash(ctx, rt.TokenHash)
				mustOK(t, "GetRefreshTokenByHash "+rt.ID, err)
				same(t, "GetRefreshTokenByHash "+rt.ID, rt, got)
			}
			_, err := s.GetRefreshTokenByHash(ctx, hash("unknown"))
			wantErr(t, "GetRefreshTokenByHash unknown", err, storage.ErrNotFound)

			sameID := newRefreshToken("r1", "fam3", "c1", "u1")
			sameID.TokenHash = hash("another")
			wantErr(t, "CreateRefreshToken same ID", s.CreateRefreshToken(ctx, sameID), storage.ErrAlreadyExists)
			sameHash := newRefreshToken("r3", "fam3", "c1", "u1")
			sameHash.TokenHash = r.TokenHash
			wantErr(t, "CreateRefreshToken same hash", s.CreateRefreshToken(ctx, sameHash), storage.ErrAlreadyExists)
		}},
		{"RefreshToken/Rotate", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			r1 := newRefreshToken("r1", "fam", "c1", "u1")
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, r1))

			r2, a2 := successor("r2", r1, at(time.Minute))
			mustOK(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, r1.ID, r2, a2, at(time.Minute)))
			usedR1 := r1
			usedR1.UsedAt = at(time.Minute)
			checkRefresh(t, s, usedR1)
			checkRefresh(t, s, r2)
			checkAccess(t, s, a2)

			r3, a3 := successor("r3", r1, at(2*time.Minute))
			err := s.RotateRefreshToken(ctx, r1.ID, r3, a3, at(2*time.Minute))
			wantErr(t, "RotateRefreshToken replayed", err, storage.ErrAlreadyUsed)
			checkRefresh(t, s, usedR1)
			checkAbsent(t, s, r3, a3)

			r4, a4 := successor("r4", r2, at(3*time.Minute))
			mustOK(t, "RotateRefreshToken the successor", s.RotateRefreshToken(ctx, r2.ID, r4, a4, at(3*time.Minute)))
			checkRefresh(t, s, r4)

			r5, a5 := successor("r5", r1, at(4*time.Minute))
			err = s.RotateRefreshToken(ctx, "nope", r5, a5, at(4*time.Minute))
			wantErr(t, "RotateRefreshToken absent", err, storage.ErrNotFound, storage.ErrConflict)
			checkAbsent(t, s, r5, a5)
		}},
		{"RefreshToken/RotateGrace", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			const grace = 30 * time.Second
			r1 := newRefreshToken("r1", "fam", "c1", "u1")
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, r1))
			r2, a2 := successor("r2", r1, at(time.Minute))
			mustOK(t, "RotateRefreshTokenGrace first use", s.RotateRefreshTokenGrace(ctx, r1.ID, grace, r2, a2, at(time.Minute)))
			usedR1 := r1
			usedR1.UsedAt = at(time.Minute)
			checkRefresh(t, s, usedR1)

			// Within the grace period: another pair, and the first use time stays.
			r3, a3 := successor("r3", r1, at(time.Minute+grace-time.Microsecond))
			mustOK(t, "RotateRefreshTokenGrace within the grace period", s.RotateRefreshTokenGrace(ctx, r1.ID, grace, r3, a3, at(time.Minute+grace-time.Microsecond)))
			checkRefresh(t, s, usedR1)
			checkRefresh(t, s, r3)
			checkAccess(t, s, a3)
			checkRefresh(t, s, r2)

			// Without a grace period, and once it has passed: a replay.
			r4, a4 := successor("r4", r1, at(time.Minute+time.Second))
			wantErr(t, "RotateRefreshToken (no grace) of a used token", s.RotateRefreshToken(ctx, r1.ID, r4, a4, at(time.Minute+time.Second)), storage.ErrAlreadyUsed)
			checkAbsent(t, s, r4, a4)
			r5, a5 := successor("r5", r1, at(time.Minute+grace))
			wantErr(t, "RotateRefreshTokenGrace at the end of the grace period", s.RotateRefreshTokenGrace(ctx, r1.ID, grace, r5, a5, at(time.Minute+grace)), storage.ErrAlreadyUsed)
			checkAbsent(t, s, r5, a5)

			// A revoked family is never rotated, grace or not.
			r6, a6 := successor("r6", r1, at(time.Minute+time.Second))
			mustOK(t, "RevokeFamily", s.RevokeFamily(ctx, "fam", at(time.Minute+time.Second)))
			wantErr(t, "RotateRefreshTokenGrace of a revoked token", s.RotateRefreshTokenGrace(ctx, r1.ID, grace, r6, a6, at(time.Minute+2*time.Second)), storage.ErrAlreadyUsed, storage.ErrConflict)
			checkAbsent(t, s, r6, a6)
		}},
		{"RefreshToken/RotateRefused", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			now := at(time.Hour)
			for _, tc := range []struct {
				name          string
				expires, idle time.Time
				revoked       bool
				want          error
			}{
				{"live", now.Add(time.Microsecond), now.Add(time.Microsecond), false, nil},
				{"revoked", now.Add(time.Hour), now.Add(time.Hour), true, storage.ErrConflict},
				{"idle-expires-now", now.Add(time.Hour), now, false, storage.ErrConflict},
				{"idle-expired", now.Add(time.Hour), now.Add(-time.Second), false, storage.ErrConflict},
				{"absolute-expires-now", now, now.Add(time.Hour), false, storage.ErrConflict},
				{"absolute-expired", now.Add(-time.Second), now.Add(time.Hour), false, storage.ErrConflict},
			} {
				old := newRefreshToken(tc.name, "fam-"+tc.name, "c1", "u1")
				old.ExpiresAt, old.IdleExpiresAt = tc.expires, tc.idle
				mustOK(t, "CreateRefreshToken "+tc.name, s.CreateRefreshToken(ctx, old))
				if tc.revoked {
					mustOK(t, "RevokeFamily "+tc.name, s.RevokeFamily(ctx, old.FamilyID, at(0)))
					old.RevokedAt = at(0)
				}
				next, access := successor("next-"+tc.name, old, now)
				err := s.RotateRefreshToken(ctx, old.ID, next, access, now)
				wantErr(t, "RotateRefreshToken "+tc.name, err, tc.want)
				if tc.want == nil {
					old.UsedAt = now
					checkRefresh(t, s, next)
					checkAccess(t, s, access)
				} else {
					checkAbsent(t, s, next, access)
				}
				checkRefresh(t, s, old)
			}
		}},
		{"RefreshToken/RotateAllOrNothing", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			other := newRefreshToken("other", "fam0", "c1", "u1")
			otherAccess := newAccessToken("other-access", "fam0", "c1", "u1")
			mustOK(t, "CreateRefreshToken other", s.CreateRefreshToken(ctx, other))
			mustOK(t, "CreateAccessToken other", s.CreateAccessToken(ctx, otherAccess))
			r1 := newRefreshToken("r1", "fam", "c1", "u1")
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, r1))

			next, access := successor("r2", r1, at(time.Minute))
			next.TokenHash = other.TokenHash
			err := s.RotateRefreshToken(ctx, r1.ID, next, access, at(time.Minute))
			wantErr(t, "RotateRefreshToken with a taken refresh hash", err, storage.ErrAlreadyExists)
			checkRefresh(t, s, r1)
			_, err = s.GetAccessToken(ctx, access.ID)
			wantErr(t, "GetAccessToken of the refused rotation", err, storage.ErrNotFound)

			next, access = successor("r3", r1, at(time.Minute))
			access.ID = otherAccess.ID
			err = s.RotateRefreshToken(ctx, r1.ID, next, access, at(time.Minute))
			wantErr(t, "RotateRefreshToken with a taken access ID", err, storage.ErrAlreadyExists)
			checkRefresh(t, s, r1)
			_, err = s.GetRefreshTokenByHash(ctx, next.TokenHash)
			wantErr(t, "GetRefreshTokenByHash of the refused rotation", err, storage.ErrNotFound)
			checkAccess(t, s, otherAccess)
		}},
		{"RefreshToken/RevokeFamily", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			r1, r2, r3 := newRefreshToken("r1", "f1", "c1", "u1"), newRefreshToken("r2", "f1", "c1", "u1"), newRefreshToken("r3", "f2", "c1", "u1")
			r1.UsedAt = at(-time.Minute)
			a1, a2, a3 := newAccessToken("a1", "f1", "c1", "u1"), newAccessToken("a2", "f1", "c1", "u1"), newAccessToken("a3", "f2", "c1", "u1")
			for _, r := range []storage.RefreshToken{r1, r2, r3} {
				mustOK(t, "CreateRefreshToken "+r.ID, s.CreateRefreshToken(ctx, r))
			}
			for _, a := range []storage.AccessToken{a1, a2, a3} {
				mustOK(t, "CreateAccessToken "+a.ID, s.CreateAccessToken(ctx, a))
			}
			mustOK(t, "RevokeFamily", s.RevokeFamily(ctx, "f1", at(5*time.Minute)))
			for _, r := range []*storage.RefreshToken{&r1, &r2} {
				r.RevokedAt = at(5 * time.Minute)
			}
			for _, a := range []*storage.AccessToken{&a1, &a2} {
				a.RevokedAt = at(5 * time.Minute)
			}
			for _, r := range []storage.RefreshToken{r1, r2, r3} {
				checkRefresh(t, s, r)
			}
			for _, a := range []storage.AccessToken{a1, a2, a3} {
				checkAccess(t, s, a)
			}
			mustOK(t, "RevokeFamily unknown", s.RevokeFamily(ctx, "unknown", at(0)))
		}},
		{"RefreshToken/RevokeUserTokens", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			type pair struct {
				r storage.RefreshToken
				a storage.AccessToken
			}
			mk := func(id, clientID, userID string) pair {
				return pair{newRefreshToken("r-"+id, "fam-"+id, clientID, userID), newAccessToken("a-"+id, "fam-"+id, clientID, userID)}
			}
			u1c1, u1c2, u2c1 := mk("u1c1", "c1", "u1"), mk("u1c2", "c2", "u1"), mk("u2c1", "c1", "u2")
			for _, p := range []pair{u1c1, u1c2, u2c1} {
				mustOK(t, "CreateRefreshToken "+p.r.ID, s.CreateRefreshToken(ctx, p.r))
				mustOK(t, "CreateAccessToken "+p.a.ID, s.CreateAccessToken(ctx, p.a))
			}

			mustOK(t, "RevokeUserTokens u1 c1", s.RevokeUserTokens(ctx, "u1", "c1", at(time.Minute)))
			u1c1.r.RevokedAt, u1c1.a.RevokedAt = at(time.Minute), at(time.Minute)
			for _, p := range []pair{u1c1, u1c2, u2c1} {
				checkRefresh(t, s, p.r)
				checkAccess(t, s, p.a)
			}

			mustOK(t, "RevokeUserTokens u1", s.RevokeUserTokens(ctx, "u1", "", at(2*time.Minute)))
			u1c2.r.RevokedAt, u1c2.a.RevokedAt = at(2*time.Minute), at(2*time.Minute)
			for _, p := range []pair{u1c2, u2c1} {
				checkRefresh(t, s, p.r)
				checkAccess(t, s, p.a)
			}
			r, err := s.GetRefreshTokenByHash(ctx, u1c1.r.TokenHash)
			mustOK(t, "GetRefreshTokenByHash u1c1", err)
			a, err := s.GetAccessToken(ctx, u1c1.a.ID)
			mustOK(t, "GetAccessToken u1c1", err)
			if r.RevokedAt.IsZero() || a.RevokedAt.IsZero() {
				t.Errorf("u1c1 tokens no longer revoked: refresh %v, access %v", r.RevokedAt, a.RevokedAt)
			}
		}},
	}
}

// successor returns the refresh token and access token that rotating old at now issues.
func successor(id string, old storage.RefreshToken, now time.Time) (storage.RefreshToken, storage.AccessToken) {
	next := old
	next.ID = id
	next.TokenHash = hash("refresh-" + id)
	next.CreatedAt = now
	next.IdleExpiresAt = now.Add(30 * 24 * time.Hour)
	next.UsedAt = time.Time{}
	next.RevokedAt = time.Time{}
	access := newAccessToken("access-"+id, old.FamilyID, old.ClientID, old.UserID)
	access.CreatedAt = now
	access.ExpiresAt = now.Add(15 * time.Minute)
	return next, access
}

func checkRefresh(t *testing.T, s storage.Storage, want storage.RefreshToken) {
	t.Helper()
	got, err := s.GetRefreshTokenByHash(t.Context(), want.TokenHash)
	mustOK(t, "GetRefreshTokenByHash "+want.ID, err)
	same(t, "GetRefreshTokenByHash "+want.ID, want, got)
}

func checkAccess(t *testing.T, s storage.Storage, want storage.AccessToken) {
	t.Helper()
	got, err := s.GetAccessToken(t.Context(), want.ID)
	mustOK(t, "GetAccessToken "+want.ID, err)
	same(t, "GetAccessToken "+want.ID, want, got)
}

// checkAbsent fails unless neither token was stored.
func checkAbsent(t *testing.T, s storage.Storage, r storage.RefreshToken, a storage.AccessToken) {
	t.Helper()
	_, err := s.GetRefreshTokenByHash(t.Context(), r.TokenHash)
	wantErr(t, "GetRefreshTokenByHash "+r.ID, err, storage.ErrNotFound)
	_, err = s.GetAccessToken(t.Context(), a.ID)
	wantErr(t, "GetAccessToken "+a.ID, err, storage.ErrNotFound)
}
