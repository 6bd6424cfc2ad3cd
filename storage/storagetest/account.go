package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func accountTests() []subtest {
	return []subtest{
		{"RecoveryCodes/ReplaceConsumeCount", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			count := func(user string, want int) {
				t.Helper()
				n, err := s.CountRecoveryCodes(ctx, user)
				mustOK(t, "CountRecoveryCodes", err)
				if n != want {
					t.Fatalf("CountRecoveryCodes(%s) = %d, want %d", user, n, want)
				}
			}
			count("u1", 0)
			first := [][]byte{hash("a"), hash("b"), hash("c")}
			mustOK(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, "u1", first, at(0)))
			mustOK(t, "ReplaceRecoveryCodes u2", s.ReplaceRecoveryCodes(ctx, "u2", [][]byte{hash("a")}, at(0)))
			count("u1", 3)

			mustOK(t, "ConsumeRecoveryCode", s.ConsumeRecoveryCode(ctx, "u1", hash("b"), at(time.Minute)))
			count("u1", 2)
			wantErr(t, "ConsumeRecoveryCode again", s.ConsumeRecoveryCode(ctx, "u1", hash("b"), at(2*time.Minute)), storage.ErrConflict)
			wantErr(t, "ConsumeRecoveryCode unknown", s.ConsumeRecoveryCode(ctx, "u1", hash("z"), at(2*time.Minute)), storage.ErrConflict)
			wantErr(t, "ConsumeRecoveryCode of another user", s.ConsumeRecoveryCode(ctx, "u2", hash("c"), at(2*time.Minute)), storage.ErrConflict)
			count("u2", 1)

			// Replacing removes the old codes, spent or not.
			mustOK(t, "ReplaceRecoveryCodes again", s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{hash("d"), hash("e")}, at(time.Hour)))
			count("u1", 2)
			wantErr(t, "ConsumeRecoveryCode replaced", s.ConsumeRecoveryCode(ctx, "u1", hash("a"), at(2*time.Hour)), storage.ErrConflict)
			mustOK(t, "ConsumeRecoveryCode new", s.ConsumeRecoveryCode(ctx, "u1", hash("d"), at(2*time.Hour)))
			count("u1", 1)

			// A duplicate in the new set changes nothing.
			wantErr(t, "ReplaceRecoveryCodes duplicate", s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{hash("f"), hash("f")}, at(3*time.Hour)), storage.ErrAlreadyExists)
			count("u1", 1)
			mustOK(t, "ConsumeRecoveryCode kept", s.ConsumeRecoveryCode(ctx, "u1", hash("e"), at(3*time.Hour)))
		}},
		{"RecoveryCodes/ConcurrentConsume", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			mustOK(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{hash("only")}, at(0)))
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { errs[i] = s.ConsumeRecoveryCode(ctx, "u1", hash("only"), at(time.Second)) })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					wantErr(t, "ConsumeRecoveryCode loser", err, storage.ErrConflict)
				}
			}
			if ok != 1 {
				t.Fatalf("%d of %d concurrent consumes succeeded, want exactly 1", ok, n)
			}
		}},
		{"Grants/List", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			got, err := s.ListUserGrants(ctx, "u1", at(0))
			mustOK(t, "ListUserGrants empty", err)
			same(t, "ListUserGrants empty", []storage.Grant(nil), got)

			a1 := newAccessToken("a1", "f1", "c1", "u1")
			a1.CreatedAt = at(-3 * time.Minute)
			r1 := newRefreshToken("r1", "f1", "c1", "u1")
			r1.CreatedAt = at(-2 * time.Minute)
			usedR := newRefreshToken("r0", "f1", "c1", "u1") // rotated away: not live
			usedR.CreatedAt = at(-10 * time.Minute)
			usedR.UsedAt = at(-2 * time.Minute)
			expired := newAccessToken("a2", "f2", "c2", "u1") // expired: c2 has nothing live
			expired.ExpiresAt = at(-time.Second)
			revoked := newRefreshToken("r2", "f2", "c2", "u1")
			revoked.RevokedAt = at(-time.Second)
			other := newAccessToken("a3", "f3", "c2", "u2") // another user's
			for _, a := range []storage.AccessToken{a1, expired, other} {
				mustOK(t, "CreateAccessToken "+a.ID, s.CreateAccessToken(ctx, a))
			}
			for _, r := range []storage.RefreshToken{r1, usedR, revoked} {
				mustOK(t, "CreateRefreshToken "+r.ID, s.CreateRefreshToken(ctx, r))
			}
			got, err = s.ListUserGrants(ctx, "u1", at(0))
			mustOK(t, "ListUserGrants", err)
			same(t, "ListUserGrants", []storage.Grant{{ClientID: "c1", FirstAt: a1.CreatedAt, LastAt: r1.CreatedAt, LiveCount: 2}}, got)

			// At the access token's expiry only the refresh token is left.
			got, err = s.ListUserGrants(ctx, "u1", a1.ExpiresAt)
			mustOK(t, "ListUserGrants later", err)
			same(t, "ListUserGrants later", []storage.Grant{{ClientID: "c1", FirstAt: r1.CreatedAt, LastAt: r1.CreatedAt, LiveCount: 1}}, got)

			mustOK(t, "RevokeUserTokens c1", s.RevokeUserTokens(ctx, "u1", "c1", at(time.Second)))
			got, err = s.ListUserGrants(ctx, "u1", at(2*time.Second))
			mustOK(t, "ListUserGrants after revoke", err)
			same(t, "ListUserGrants after revoke", []storage.Grant(nil), got)
			got, err = s.ListUserGrants(ctx, "u2", at(2*time.Second))
			mustOK(t, "ListUserGrants u2", err)
			if len(got) != 1 || got[0].ClientID != "c2" {
				t.Fatalf("ListUserGrants(u2) = %+v, want c2 only", got)
			}
		}},
	}
}
