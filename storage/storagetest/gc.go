package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func gcTests() []subtest {
	return []subtest{
		{"GarbageCollect", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			now := at(0)
			past, future := now.Add(-time.Second), now.Add(time.Second)

			flowOld, flowLive := newFlow("f-old", "1"), newFlow("f-live", "2")
			flowOld.ExpiresAt, flowLive.ExpiresAt = past, future
			reqOld, reqLive := newAuthRequest("a-old"), newAuthRequest("a-live")
			reqOld.ExpiresAt, reqLive.ExpiresAt = past, future
			sessOld, sessIdle, sessLive := newSession("s-old", "u1"), newSession("s-idle", "u1"), newSession("s-live", "u1")
			sessOld.ExpiresAt, sessOld.IdleExpiresAt = past, past
			sessIdle.ExpiresAt, sessIdle.IdleExpiresAt = now.Add(time.Hour), past
			sessLive.ExpiresAt, sessLive.IdleExpiresAt = now.Add(time.Hour), future
			accOld, accLive := newAccessToken("at-old", "fam", "c1", "u1"), newAccessToken("at-live", "fam", "c1", "u1")
			accOld.ExpiresAt, accLive.ExpiresAt = past, future
			refOld, refIdle, refLive := newRefreshToken("rt-old", "fam", "c1", "u1"), newRefreshToken("rt-idle", "fam", "c1", "u1"), newRefreshToken("rt-live", "fam", "c1", "u1")
			refOld.ExpiresAt, refOld.IdleExpiresAt = past, past
			refIdle.ExpiresAt, refIdle.IdleExpiresAt = now.Add(time.Hour), past
			refLive.ExpiresAt, refLive.IdleExpiresAt = now.Add(time.Hour), future
			key := newSigningKey("k1", "ES256", 1)
			key.ExpiresAt = past

			for _, f := range []storage.Flow{flowOld, flowLive} {
				mustOK(t, "CreateFlow "+f.ID, s.CreateFlow(ctx, f))
			}
			for _, a := range []storage.AuthRequest{reqOld, reqLive} {
				mustOK(t, "CreateAuthRequest "+a.ID, s.CreateAuthRequest(ctx, a))
			}
			for _, ss := range []storage.Session{sessOld, sessIdle, sessLive} {
				mustOK(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
			}
			for _, a := range []storage.AccessToken{accOld, accLive} {
				mustOK(t, "CreateAccessToken "+a.ID, s.CreateAccessToken(ctx, a))
			}
			for _, r := range []storage.RefreshToken{refOld, refIdle, refLive} {
				mustOK(t, "CreateRefreshToken "+r.ID, s.CreateRefreshToken(ctx, r))
			}
			mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx, key))

			for range 2 { // a second run finds nothing more to delete
				mustOK(t, "GarbageCollect", s.GarbageCollect(ctx, now))

				_, err := s.GetFlow(ctx, flowOld.ID)
				wantErr(t, "GetFlow expired", err, storage.ErrNotFound)
				gotFlow, err := s.GetFlow(ctx, flowLive.ID)
				mustOK(t, "GetFlow live", err)
				same(t, "GetFlow live", flowLive, gotFlow)

				_, err = s.GetAuthRequest(ctx, reqOld.ID)
				wantErr(t, "GetAuthRequest expired", err, storage.ErrNotFound)
				gotReq, err := s.GetAuthRequest(ctx, reqLive.ID)
				mustOK(t, "GetAuthRequest live", err)
				same(t, "GetAuthRequest live", reqLive, gotReq)

				// Listed as of an hour ago, when all three were valid: only the live one is left.
				sessions, err := s.ListUserSessions(ctx, "u1", now.Add(-time.Hour))
				mustOK(t, "ListUserSessions", err)
				same(t, "ListUserSessions", []storage.Session{sessLive}, sessions)

				_, err = s.GetAccessToken(ctx, accOld.ID)
				wantErr(t, "GetAccessToken expired", err, storage.ErrNotFound)
				checkAccess(t, s, accLive)

				for _, r := range []storage.RefreshToken{refOld, refIdle} {
					_, err = s.GetRefreshTokenByHash(ctx, r.TokenHash)
					wantErr(t, "GetRefreshTokenByHash "+r.ID, err, storage.ErrNotFound)
				}
				checkRefresh(t, s, refLive)

				// Not garbage collected: users, clients, signing keys.
				keys, err := s.ListSigningKeys(ctx)
				mustOK(t, "ListSigningKeys", err)
				same(t, "ListSigningKeys", []storage.SigningKey{key}, keys)
				_, err = s.GetUser(ctx, "u1")
				mustOK(t, "GetUser", err)
				_, err = s.GetClient(ctx, "c1")
				mustOK(t, "GetClient", err)
			}
		}},
	}
}
