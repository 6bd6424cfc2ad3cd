package storagetest

import (
	"bytes"
	"testing"

	"github.com/otpidp/otpidp/storage"
)

func basicTests() []subtest {
	return []subtest{
		{"Ping", func(t *testing.T, s storage.Storage) {
			mustOK(t, "Ping", s.Ping(t.Context()))
		}},
		{"Migrate/Twice", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			u := newUser("u1", "+15550000001")
			mustOK(t, "CreateUser", s.CreateUser(ctx, u))
			mustOK(t, "Migrate again", s.Migrate(ctx))
			got, err := s.GetUser(ctx, u.ID)
			mustOK(t, "GetUser after Migrate", err)
			same(t, "GetUser after Migrate", u, got)
		}},
		{"Secret/FirstWriterWins", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			first, second := []byte("first value"), []byte("second value")
			got, err := s.Secret(ctx, "cookie", first)
			mustOK(t, "Secret create", err)
			if !bytes.Equal(got, first) {
				t.Fatalf("Secret create = %q, want %q", got, first)
			}
			got, err = s.Secret(ctx, "cookie", second)
			mustOK(t, "Secret again", err)
			if !bytes.Equal(got, first) {
				t.Fatalf("Secret again = %q, want the first value %q", got, first)
			}
			got, err = s.Secret(ctx, "token", second)
			mustOK(t, "Secret other name", err)
			if !bytes.Equal(got, second) {
				t.Fatalf("Secret other name = %q, want %q", got, second)
			}
		}},
	}
}
