package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func userTests() []subtest {
	return []subtest{
		{"User/CreateGet", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			u := newUser("u1", "+15550000001")
			mustOK(t, "CreateUser", s.CreateUser(ctx, u))
			got, err := s.GetUser(ctx, u.ID)
			mustOK(t, "GetUser", err)
			same(t, "GetUser", u, got)
			got, err = s.GetUserByPhone(ctx, u.Phone)
			mustOK(t, "GetUserByPhone", err)
			same(t, "GetUserByPhone", u, got)

			zero := storage.User{ID: "u2", Phone: "+15550000002"}
			mustOK(t, "CreateUser zero", s.CreateUser(ctx, zero))
			got, err = s.GetUser(ctx, zero.ID)
			mustOK(t, "GetUser zero", err)
			same(t, "GetUser zero", zero, got)
		}},
		{"User/NotFound", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			mustOK(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "+15550000001")))
			_, err := s.GetUser(ctx, "nobody")
			wantErr(t, "GetUser", err, storage.ErrNotFound)
			_, err = s.GetUserByPhone(ctx, "+15559999999")
			wantErr(t, "GetUserByPhone", err, storage.ErrNotFound)
			err = s.UpdateUserPassword(ctx, "nobody", "hash", at(0))
			wantErr(t, "UpdateUserPassword", err, storage.ErrNotFound)
		}},
		{"User/Duplicate", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			u := newUser("u1", "+15550000001")
			mustOK(t, "CreateUser", s.CreateUser(ctx, u))
			wantErr(t, "CreateUser same ID", s.CreateUser(ctx, newUser("u1", "+15550000002")), storage.ErrAlreadyExists)
			wantErr(t, "CreateUser same phone", s.CreateUser(ctx, newUser("u2", "+15550000001")), storage.ErrAlreadyExists)
			_, err := s.GetUser(ctx, "u2")
			wantErr(t, "GetUser of the refused user", err, storage.ErrNotFound)
			_, err = s.GetUserByPhone(ctx, "+15550000002")
			wantErr(t, "GetUserByPhone of the refused user", err, storage.ErrNotFound)
			got, err := s.GetUserByPhone(ctx, u.Phone)
			mustOK(t, "GetUserByPhone", err)
			same(t, "GetUserByPhone", u, got)
		}},
		{"User/UpdatePassword", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			u, other := newUser("u1", "+15550000001"), newUser("u2", "+15550000002")
			mustOK(t, "CreateUser", s.CreateUser(ctx, u))
			mustOK(t, "CreateUser other", s.CreateUser(ctx, other))
			mustOK(t, "UpdateUserPassword", s.UpdateUserPassword(ctx, u.ID, "$argon2id$new", at(time.Hour)))
			want := u
			want.PasswordHash = "$argon2id$new"
			want.UpdatedAt = at(time.Hour)
			got, err := s.GetUser(ctx, u.ID)
			mustOK(t, "GetUser", err)
			same(t, "GetUser", want, got)
			got, err = s.GetUser(ctx, other.ID)
			mustOK(t, "GetUser other", err)
			same(t, "GetUser other", other, got)
		}},
	}
}
