package storagetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func sessionTests() []subtest {
	return []subtest{
		{"Session/CreateGet", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			ss := newSession("s1", "u1")
			mustOK(t, "CreateSession", s.CreateSession(ctx, ss))
			got, err := s.GetSessionByHash(ctx, ss.TokenHash, at(0))
			mustOK(t, "GetSessionByHash", err)
			same(t, "GetSessionByHash", ss, got)

			_, err = s.GetSessionByHash(ctx, hash("unknown"), at(0))
			wantErr(t, "GetSessionByHash unknown", err, storage.ErrNotFound)

			sameID := newSession("s1", "u2")
			sameID.TokenHash = hash("another token")
			wantErr(t, "CreateSession same ID", s.CreateSession(ctx, sameID), storage.ErrAlreadyExists)
			sameHash := newSession("s2", "u2")
			sameHash.TokenHash = ss.TokenHash
			wantErr(t, "CreateSession same token hash", s.CreateSession(ctx, sameHash), storage.ErrAlreadyExists)
			got, err = s.GetSessionByHash(ctx, ss.TokenHash, at(0))
			mustOK(t, "GetSessionByHash", err)
			same(t, "GetSessionByHash after the refused duplicates", ss, got)
		}},
		{"Session/Expiry", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			idle := newSession("idle", "u1") // idle expiry first, at(1h)
			abs := newSession("absolute", "u1")
			abs.ExpiresAt = at(2 * time.Hour)
			abs.IdleExpiresAt = at(3 * time.Hour) // absolute expiry first
			for _, ss := range []storage.Session{idle, abs} {
				mustOK(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
			}
			for _, tc := range []struct {
				name string
				ss   storage.Session
				now  time.Time
				want error
			}{
				{"idle/before", idle, at(time.Hour - time.Microsecond), nil},
				{"idle/at", idle, at(time.Hour), storage.ErrNotFound},
				{"idle/after", idle, at(2 * time.Hour), storage.ErrNotFound},
				{"absolute/before", abs, at(2*time.Hour - time.Microsecond), nil},
				{"absolute/at", abs, at(2 * time.Hour), storage.ErrNotFound},
			} {
				got, err := s.GetSessionByHash(ctx, tc.ss.TokenHash, tc.now)
				wantErr(t, "GetSessionByHash "+tc.name, err, tc.want)
				if tc.want == nil {
					same(t, "GetSessionByHash "+tc.name, tc.ss, got)
				}
			}
		}},
		{"Session/Touch", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			ss := newSession("s1", "u1") // idle expiry at(1h)
			mustOK(t, "CreateSession", s.CreateSession(ctx, ss))
			mustOK(t, "TouchSession", s.TouchSession(ctx, ss.ID, at(30*time.Minute), at(90*time.Minute)))
			want := ss
			want.LastSeenAt = at(30 * time.Minute)
			want.IdleExpiresAt = at(90 * time.Minute)
			got, err := s.GetSessionByHash(ctx, ss.TokenHash, at(80*time.Minute))
			mustOK(t, "GetSessionByHash past the old idle expiry", err)
			same(t, "GetSessionByHash after TouchSession", want, got)
			wantErr(t, "TouchSession absent", s.TouchSession(ctx, "nope", at(0), at(time.Hour)), storage.ErrNotFound)
		}},
		{"Session/ListDelete", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			s1, s2, old, other := newSession("s1", "u1"), newSession("s2", "u1"), newSession("old", "u1"), newSession("s4", "u2")
			s2.CreatedAt = at(-time.Minute)
			old.CreatedAt = at(-3 * time.Hour)
			old.ExpiresAt = at(-time.Second)
			old.IdleExpiresAt = at(-time.Second)
			for _, ss := range []storage.Session{s1, s2, old, other} {
				mustOK(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
			}
			list := func(userID string, now time.Time) []storage.Session {
				t.Helper()
				got, err := s.ListUserSessions(ctx, userID, now)
				mustOK(t, "ListUserSessions "+userID, err)
				slices.SortFunc(got, func(a, b storage.Session) int { return cmp.Compare(a.ID, b.ID) })
				return got
			}
			same(t, "ListUserSessions u1 (live only)", []storage.Session{s1, s2}, list("u1", at(0)))
			same(t, "ListUserSessions u1 before old expired", []storage.Session{old, s1, s2}, list("u1", at(-2*time.Hour)))
			same(t, "ListUserSessions u2", []storage.Session{other}, list("u2", at(0)))
			same(t, "ListUserSessions of a user without sessions", nil, list("u3", at(0)))

			mustOK(t, "DeleteSession", s.DeleteSession(ctx, s1.ID))
			_, err := s.GetSessionByHash(ctx, s1.TokenHash, at(0))
			wantErr(t, "GetSessionByHash deleted", err, storage.ErrNotFound)
			wantErr(t, "DeleteSession again", s.DeleteSession(ctx, s1.ID), nil, storage.ErrNotFound)
			same(t, "ListUserSessions u1 after DeleteSession", []storage.Session{s2}, list("u1", at(0)))

			mustOK(t, "DeleteUserSessions", s.DeleteUserSessions(ctx, "u1"))
			same(t, "ListUserSessions u1 after DeleteUserSessions", nil, list("u1", at(-2*time.Hour)))
			same(t, "ListUserSessions u2 after DeleteUserSessions(u1)", []storage.Session{other}, list("u2", at(0)))
		}},
	}
}
