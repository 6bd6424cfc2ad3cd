package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func clientProfileTests() []subtest {
	return []subtest{
		{"ClientProfile/RoundTrip", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			c := newClient("svc")
			c.GrantTypes = []string{"client_credentials"}
			p := storage.ClientProfile{
				ClientID: "svc", AuthMethod: "private_key_jwt", Scopes: []string{"orders:read", "orders:write"},
				JWKS: []byte(`{"keys":[]}`), JWKSURI: "https://svc.example/jwks", IDTokenAlg: "ES256", IDTokenClaims: true,
			}
			mustOK(t, "CreateClientWithProfile", s.CreateClientWithProfile(ctx, c, p))
			gotC, err := s.GetClient(ctx, "svc")
			mustOK(t, "GetClient", err)
			same(t, "client", c, gotC)
			got, err := s.GetClientProfile(ctx, "svc")
			mustOK(t, "GetClientProfile", err)
			same(t, "profile", p, got)
		}},
		{"ClientProfile/AbsentAndEmpty", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			mustOK(t, "CreateClient", s.CreateClient(ctx, newClient("old")))
			_, err := s.GetClientProfile(ctx, "old")
			wantErr(t, "GetClientProfile of a client without one", err, storage.ErrNotFound)
			mustOK(t, "CreateClientWithProfile", s.CreateClientWithProfile(ctx, newClient("new"), storage.ClientProfile{ClientID: "new"}))
			got, err := s.GetClientProfile(ctx, "new")
			mustOK(t, "GetClientProfile", err)
			same(t, "empty profile", storage.ClientProfile{ClientID: "new"}, got)
		}},
		{"ClientProfile/BothOrNeither", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			mustOK(t, "CreateClient", s.CreateClient(ctx, newClient("taken")))
			err := s.CreateClientWithProfile(ctx, newClient("taken"), storage.ClientProfile{ClientID: "taken", Scopes: []string{"x"}})
			wantErr(t, "CreateClientWithProfile with a taken ID", err, storage.ErrAlreadyExists)
			_, err = s.GetClientProfile(ctx, "taken")
			wantErr(t, "no profile stored for the refused client", err, storage.ErrNotFound)
		}},
		{"ClientProfile/DeletedWithTheClient", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			mustOK(t, "CreateClientWithProfile", s.CreateClientWithProfile(ctx, newClient("gone"), storage.ClientProfile{ClientID: "gone", Scopes: []string{"x"}}))
			mustOK(t, "DeleteClient", s.DeleteClient(ctx, "gone"))
			_, err := s.GetClientProfile(ctx, "gone")
			wantErr(t, "GetClientProfile after DeleteClient", err, storage.ErrNotFound)
			// The ID can be registered again, with a new profile.
			mustOK(t, "CreateClientWithProfile again", s.CreateClientWithProfile(ctx, newClient("gone"), storage.ClientProfile{ClientID: "gone"}))
		}},
		{"AssertionID/SingleUse", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(0)
			mustOK(t, "UseAssertionID", s.UseAssertionID(ctx, "c1", "j1", now.Add(time.Minute), now))
			wantErr(t, "UseAssertionID replayed", s.UseAssertionID(ctx, "c1", "j1", now.Add(time.Minute), now.Add(59*time.Second)), storage.ErrAlreadyUsed)
			// Another client's jti is its own.
			mustOK(t, "UseAssertionID of another client", s.UseAssertionID(ctx, "c2", "j1", now.Add(time.Minute), now))
			// Once the record has expired (so has the assertion), the jti is free.
			mustOK(t, "UseAssertionID after expiry", s.UseAssertionID(ctx, "c1", "j1", now.Add(3*time.Minute), now.Add(time.Minute)))
			wantErr(t, "UseAssertionID replayed again", s.UseAssertionID(ctx, "c1", "j1", now.Add(3*time.Minute), now.Add(2*time.Minute)), storage.ErrAlreadyUsed)
		}},
		{"AssertionID/GarbageCollect", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(0)
			mustOK(t, "UseAssertionID old", s.UseAssertionID(ctx, "c1", "old", now.Add(time.Minute), now))
			mustOK(t, "UseAssertionID live", s.UseAssertionID(ctx, "c1", "live", now.Add(time.Hour), now))
			mustOK(t, "DeleteExpiredAssertionIDs", s.DeleteExpiredAssertionIDs(ctx, now.Add(time.Minute)))
			// The live one is still there: replaying it is refused even by a caller whose
			// clock is behind (now earlier than its expiry).
			wantErr(t, "live jti after GC", s.UseAssertionID(ctx, "c1", "live", now.Add(time.Hour), now), storage.ErrAlreadyUsed)
			// The expired one is gone: a caller with an early clock could insert it afresh.
			mustOK(t, "collected jti", s.UseAssertionID(ctx, "c1", "old", now.Add(time.Minute), now))
		}},
		{"Concurrent/UseAssertionID", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			errs := race(8, func(int) error {
				return s.UseAssertionID(ctx, "c1", "jti", at(time.Minute), at(0))
			})
			winners(t, "UseAssertionID", errs, 1, storage.ErrAlreadyUsed)
		}},
	}
}
