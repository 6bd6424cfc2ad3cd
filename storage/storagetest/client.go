package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func clientTests() []subtest {
	return []subtest{
		{"Client/CreateGet", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			confidential := newClient("c1")
			public := storage.Client{
				ID:                "spa",
				Name:              "Single page app",
				RedirectURIs:      []string{"http://127.0.0.1:8080/cb"},
				Public:            true,
				GrantTypes:        []string{"authorization_code"},
				AccessTokenFormat: "opaque",
			}
			for _, c := range []storage.Client{confidential, public} {
				mustOK(t, "CreateClient "+c.ID, s.CreateClient(ctx, c))
			}
			for _, c := range []storage.Client{confidential, public} {
				got, err := s.GetClient(ctx, c.ID)
				mustOK(t, "GetClient "+c.ID, err)
				same(t, "GetClient "+c.ID, c, got)
			}
			_, err := s.GetClient(ctx, "nope")
			wantErr(t, "GetClient absent", err, storage.ErrNotFound)
		}},
		{"Client/Duplicate", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			c := newClient("c1")
			mustOK(t, "CreateClient", s.CreateClient(ctx, c))
			dup := newClient("c1")
			dup.Name = "impostor"
			wantErr(t, "CreateClient same ID", s.CreateClient(ctx, dup), storage.ErrAlreadyExists)
			got, err := s.GetClient(ctx, c.ID)
			mustOK(t, "GetClient", err)
			same(t, "GetClient", c, got)
		}},
		{"Client/List", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			got, err := s.ListClients(ctx)
			mustOK(t, "ListClients empty", err)
			if len(got) != 0 {
				t.Fatalf("ListClients on an empty store = %v", got)
			}
			mk := func(id string, created time.Duration) storage.Client {
				c := newClient(id)
				c.CreatedAt = at(created)
				return c
			}
			// Created out of order; b and a share CreatedAt and are ordered by ID.
			c, b, a, d := mk("c", time.Second), mk("b", 2*time.Second), mk("a", 2*time.Second), mk("d", -time.Second)
			for _, cl := range []storage.Client{c, b, a, d} {
				mustOK(t, "CreateClient "+cl.ID, s.CreateClient(ctx, cl))
			}
			got, err = s.ListClients(ctx)
			mustOK(t, "ListClients", err)
			same(t, "ListClients", []storage.Client{d, c, a, b}, got)
		}},
		{"Client/Delete", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			c1, c2 := newClient("c1"), newClient("c2")
			mustOK(t, "CreateClient c1", s.CreateClient(ctx, c1))
			mustOK(t, "CreateClient c2", s.CreateClient(ctx, c2))
			mustOK(t, "DeleteClient", s.DeleteClient(ctx, "c1"))
			_, err := s.GetClient(ctx, "c1")
			wantErr(t, "GetClient deleted", err, storage.ErrNotFound)
			wantErr(t, "DeleteClient again", s.DeleteClient(ctx, "c1"), storage.ErrNotFound)
			got, err := s.ListClients(ctx)
			mustOK(t, "ListClients", err)
			same(t, "ListClients", []storage.Client{c2}, got)
		}},
	}
}
