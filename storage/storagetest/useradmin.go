package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func userAdminTests() []subtest {
	return []subtest{
		{"UserAdmin/DisableEnable", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, newFlow("f1", "123456"))) // u1's sign-in at the code step
			other := newFlow("f2", "123456")
			other.UserID, other.Phone = "u2", "+15550000002"
			mustOK(t, "CreateFlow u2", s.CreateFlow(ctx, other))
			// u1's authorization requests: a1 completed with a code not yet redeemed, a2 redeemed.
			for _, id := range []string{"a1", "a2"} {
				mustOK(t, "CreateAuthRequest "+id, s.CreateAuthRequest(ctx, newAuthRequest(id)))
				mustOK(t, "CompleteAuthRequest "+id, s.CompleteAuthRequest(ctx, id, "u1", at(-time.Second), []string{"pwd"}, at(0)))
				mustOK(t, "SetAuthCode "+id, s.SetAuthCode(ctx, id, hash("code-"+id), at(time.Minute)))
			}
			_, err := s.ConsumeAuthCode(ctx, hash("code-a2"), at(0))
			mustOK(t, "ConsumeAuthCode a2", err)
			mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx, "u1", at(0), at(time.Second)))
			_, err = s.ConsumeAuthCode(ctx, hash("code-a1"), at(time.Second))
			wantErr(t, "ConsumeAuthCode issued before the disable", err, storage.ErrNotFound)
			_, err = s.ConsumeAuthCode(ctx, hash("code-a2"), at(time.Second))
			wantErr(t, "a redeemed code replayed after the disable", err, storage.ErrAlreadyUsed)
			_, err = s.GetFlow(ctx, "f1")
			wantErr(t, "GetFlow of a disabled user", err, storage.ErrNotFound)
			if _, err := s.GetFlow(ctx, "f2"); err != nil {
				t.Errorf("another user's flow: %v", err)
			}
			want := newUser("u1", "+15550000001")
			want.DisabledAt, want.UpdatedAt = at(0), at(time.Second)
			got, err := s.GetUser(ctx, "u1")
			mustOK(t, "GetUser", err)
			same(t, "GetUser disabled", want, got)
			if !got.Disabled() {
				t.Error("Disabled() = false after SetUserDisabled")
			}
			got, err = s.GetUserByPhone(ctx, "+15550000001")
			mustOK(t, "GetUserByPhone", err)
			same(t, "GetUserByPhone disabled", want, got)

			mustOK(t, "enable", s.SetUserDisabled(ctx, "u1", time.Time{}, at(time.Minute)))
			got, err = s.GetUser(ctx, "u1")
			mustOK(t, "GetUser", err)
			want.DisabledAt, want.UpdatedAt = time.Time{}, at(time.Minute)
			same(t, "GetUser enabled", want, got)
			wantErr(t, "SetUserDisabled nobody", s.SetUserDisabled(ctx, "nobody", at(0), at(0)), storage.ErrNotFound)

			// A user created disabled reads back so.
			u3 := newUser("u3", "+15550000003")
			u3.DisabledAt = at(-time.Hour)
			mustOK(t, "CreateUser disabled", s.CreateUser(ctx, u3))
			got, err = s.GetUser(ctx, "u3")
			mustOK(t, "GetUser u3", err)
			same(t, "GetUser u3", u3, got)
		}},
		{"UserAdmin/ListUsers", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			for i, id := range []string{"b", "a", "c"} {
				u := newUser(id, "+1555000000"+string(rune('1'+i)))
				u.CreatedAt = at(time.Duration(i) * time.Hour)
				if id == "c" {
					u.CreatedAt = at(0) // same instant as "b": ordered by ID
				}
				mustOK(t, "CreateUser "+id, s.CreateUser(ctx, u))
			}
			mustOK(t, "disable a", s.SetUserDisabled(ctx, "a", at(0), at(0)))
			ids := func(q storage.UserQuery) []string {
				t.Helper()
				us, err := s.ListUsers(ctx, q)
				mustOK(t, "ListUsers", err)
				var out []string
				for _, u := range us {
					out = append(out, u.ID)
				}
				return out
			}
			yes, no := true, false
			for _, tc := range []struct {
				q    storage.UserQuery
				want []string
			}{
				{storage.UserQuery{}, []string{"b", "c", "a"}},
				{storage.UserQuery{Limit: 2}, []string{"b", "c"}},
				{storage.UserQuery{Disabled: &yes}, []string{"a"}},
				{storage.UserQuery{Disabled: &no}, []string{"b", "c"}},
			} {
				if got := ids(tc.q); !slices.Equal(got, tc.want) {
					t.Errorf("ListUsers(%+v) = %v, want %v", tc.q, got, tc.want)
				}
			}
		}},
		{"UserAdmin/DeleteUser", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			mustOK(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{hash("r1"), hash("r2")}, at(0)))
			mustOK(t, "ReplaceRecoveryCodes u2", s.ReplaceRecoveryCodes(ctx, "u2", [][]byte{hash("r3")}, at(0)))
			mustOK(t, "CreateSession", s.CreateSession(ctx, newSession("s1", "u1")))
			mustOK(t, "CreateSession u2", s.CreateSession(ctx, newSession("s2", "u2")))
			mustOK(t, "SaveConsent", s.SaveConsent(ctx, storage.Consent{UserID: "u1", ClientID: "c1", Scopes: []string{"openid"}, GrantedAt: at(0)}))
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, newFlow("f1", "123456")))
			reg := newRegisterFlow("f2", "+15550000001", "654321")
			mustOK(t, "CreateFlow register", s.CreateFlow(ctx, reg))
			mustOK(t, "CreateAccessToken", s.CreateAccessToken(ctx, newAccessToken("at1", "fam1", "c1", "u1")))
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("rt1", "fam1", "c1", "u1")))
			mustOK(t, "CreateAccessToken u2", s.CreateAccessToken(ctx, newAccessToken("at2", "fam2", "c1", "u2")))

			mustOK(t, "DeleteUser", s.DeleteUser(ctx, "u1", at(time.Minute)))

			_, err := s.GetUser(ctx, "u1")
			wantErr(t, "GetUser deleted", err, storage.ErrNotFound)
			_, err = s.GetUserByPhone(ctx, "+15550000001")
			wantErr(t, "GetUserByPhone deleted", err, storage.ErrNotFound)
			if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 0 {
				t.Errorf("recovery codes after delete = %d, %v; want 0", n, err)
			}
			_, err = s.GetSession(ctx, "s1")
			wantErr(t, "GetSession deleted user's", err, storage.ErrNotFound)
			_, err = s.GetConsent(ctx, "u1", "c1")
			wantErr(t, "GetConsent", err, storage.ErrNotFound)
			for _, id := range []string{"f1", "f2"} {
				_, err = s.GetFlow(ctx, id)
				wantErr(t, "GetFlow "+id, err, storage.ErrNotFound)
			}
			a, err := s.GetAccessToken(ctx, "at1")
			mustOK(t, "GetAccessToken", err)
			if !a.RevokedAt.Equal(at(time.Minute)) {
				t.Errorf("access token RevokedAt = %v, want the deletion time", a.RevokedAt)
			}
			r, err := s.GetRefreshTokenByHash(ctx, hash("refresh-rt1"))
			mustOK(t, "GetRefreshTokenByHash", err)
			if !r.RevokedAt.Equal(at(time.Minute)) {
				t.Errorf("refresh token RevokedAt = %v, want the deletion time", r.RevokedAt)
			}
			if deleted, err := s.UserDeleted(ctx, "u1"); err != nil || !deleted {
				t.Errorf("UserDeleted(u1) = %v, %v; want true", deleted, err)
			}
			if deleted, err := s.UserDeleted(ctx, "u2"); err != nil || deleted {
				t.Errorf("UserDeleted(u2) = %v, %v; want false", deleted, err)
			}

			// The other user keeps everything.
			if n, err := s.CountRecoveryCodes(ctx, "u2"); err != nil || n != 1 {
				t.Errorf("u2 recovery codes = %d, %v; want 1", n, err)
			}
			if _, err := s.GetSession(ctx, "s2"); err != nil {
				t.Errorf("u2's session: %v", err)
			}
			if a, err := s.GetAccessToken(ctx, "at2"); err != nil || !a.RevokedAt.IsZero() {
				t.Errorf("u2's access token = %+v, %v; want live", a, err)
			}

			// The ID is never given out again; the number is free.
			again := newUser("u1", "+15550000009")
			wantErr(t, "CreateUser with a deleted ID", s.CreateUser(ctx, again), storage.ErrAlreadyExists)
			if _, err := s.GetUser(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a deleted ID was stored again: %v", err)
			}
			mustOK(t, "CreateUser with the freed number", s.CreateUser(ctx, newUser("u9", "+15550000001")))
			// Registration refuses the deleted ID too, and spends no code.
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, newRegisterFlow("f3", "+15550000007", "111111")))
			wantErr(t, "CompleteRegistration with a deleted ID",
				s.CompleteRegistration(ctx, "f3", hash("111111"), maxAttempts, at(0), newUser("u1", "+15550000007")), storage.ErrAlreadyExists)

			wantErr(t, "DeleteUser again", s.DeleteUser(ctx, "u1", at(time.Hour)), storage.ErrNotFound)
			wantErr(t, "DeleteUser nobody", s.DeleteUser(ctx, "nobody", at(time.Hour)), storage.ErrNotFound)
		}},
		{"UserAdmin/Sessions", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			s1, s2, s3 := newSession("s1", "u1"), newSession("s2", "u2"), newSession("s3", "u1")
			s2.CreatedAt = at(-3 * time.Minute)
			expired := newSession("s4", "u1")
			expired.IdleExpiresAt = at(-time.Second)
			for _, ss := range []storage.Session{s1, s2, s3, expired} {
				mustOK(t, "CreateSession "+ss.ID, s.CreateSession(ctx, ss))
			}
			got, err := s.GetSession(ctx, "s4")
			mustOK(t, "GetSession expired", err)
			same(t, "GetSession", expired, got)
			_, err = s.GetSession(ctx, "nope")
			wantErr(t, "GetSession absent", err, storage.ErrNotFound)

			list := func(q storage.SessionQuery) []string {
				t.Helper()
				ss, err := s.ListSessions(ctx, q, at(0))
				mustOK(t, "ListSessions", err)
				var ids []string
				for _, x := range ss {
					ids = append(ids, x.ID)
				}
				return ids
			}
			for _, tc := range []struct {
				q    storage.SessionQuery
				want []string
			}{
				{storage.SessionQuery{}, []string{"s2", "s1", "s3"}},
				{storage.SessionQuery{UserID: "u1"}, []string{"s1", "s3"}},
				{storage.SessionQuery{UserID: "u1", Limit: 1}, []string{"s1"}},
				{storage.SessionQuery{UserID: "nobody"}, nil},
			} {
				if got := list(tc.q); !slices.Equal(got, tc.want) {
					t.Errorf("ListSessions(%+v) = %v, want %v", tc.q, got, tc.want)
				}
			}
		}},
		{"UserAdmin/UpdateClient", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			c := newClient("c1")
			mustOK(t, "CreateClient", s.CreateClient(ctx, c)) // no profile
			want := c
			want.Name, want.RedirectURIs, want.SecretHash = "Renamed", []string{"https://new.example/cb"}, hash("new secret")
			want.GrantTypes, want.FirstParty = []string{"authorization_code"}, false
			wantProfile := storage.ClientProfile{ClientID: "c1", Scopes: []string{"read"}, IDTokenAlg: "ES256"}
			err := s.UpdateClient(ctx, "c1", func(old storage.Client, p storage.ClientProfile) (storage.Client, storage.ClientProfile, error) {
				same(t, "the client update sees", c, old)
				same(t, "the profile update sees", storage.ClientProfile{ClientID: "c1"}, p)
				n := want
				n.ID, n.CreatedAt = "changed", at(time.Hour) // neither may change
				return n, wantProfile, nil
			})
			mustOK(t, "UpdateClient", err)
			got, err := s.GetClient(ctx, "c1")
			mustOK(t, "GetClient", err)
			same(t, "GetClient after update", want, got)
			p, err := s.GetClientProfile(ctx, "c1")
			mustOK(t, "GetClientProfile", err)
			same(t, "GetClientProfile after update", wantProfile, p)

			// An update that fails changes nothing; a second update sees the first's profile.
			boom := errors.New("boom")
			err = s.UpdateClient(ctx, "c1", func(old storage.Client, p storage.ClientProfile) (storage.Client, storage.ClientProfile, error) {
				same(t, "the second update sees", wantProfile, p)
				old.Name = "never"
				return old, p, boom
			})
			wantErr(t, "UpdateClient failing", err, boom)
			if got, _ := s.GetClient(ctx, "c1"); got.Name != "Renamed" {
				t.Errorf("a failed update changed the name to %q", got.Name)
			}
			err = s.UpdateClient(ctx, "nobody", func(c storage.Client, p storage.ClientProfile) (storage.Client, storage.ClientProfile, error) {
				t.Error("update called for an absent client")
				return c, p, nil
			})
			wantErr(t, "UpdateClient absent", err, storage.ErrNotFound)
		}},
	}
}
