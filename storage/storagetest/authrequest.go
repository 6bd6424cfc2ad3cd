package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func authRequestTests() []subtest {
	return []subtest{
		{"AuthRequest/CreateGet", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			fresh := newAuthRequest("a1")
			full := newAuthRequest("a2")
			full.MaxAge = 3600
			full.UserID = "u1"
			full.AuthTime = at(-30 * time.Second)
			full.AMR = []string{"pwd", "sms"}
			full.CompletedAt = at(-20 * time.Second)
			full.CodeHash = hash("code-a2")
			full.CodeExpiresAt = at(40 * time.Second)
			full.CodeUsedAt = at(-10 * time.Second)
			bare := storage.AuthRequest{ID: "a3", ClientID: "c2", ExpiresAt: at(time.Minute)}
			for _, a := range []storage.AuthRequest{fresh, full, bare} {
				mustOK(t, "CreateAuthRequest "+a.ID, s.CreateAuthRequest(ctx, a))
			}
			for _, a := range []storage.AuthRequest{fresh, full, bare} {
				got, err := s.GetAuthRequest(ctx, a.ID)
				mustOK(t, "GetAuthRequest "+a.ID, err)
				same(t, "GetAuthRequest "+a.ID, a, got)
			}
			_, err := s.GetAuthRequest(ctx, "nope")
			wantErr(t, "GetAuthRequest absent", err, storage.ErrNotFound)
			wantErr(t, "CreateAuthRequest same ID", s.CreateAuthRequest(ctx, newAuthRequest("a1")), storage.ErrAlreadyExists)
		}},
		{"AuthRequest/CountPending", func(t *testing.T, s storage.Storage) {
			// Pending: from the address, not completed, not expired; counted up to max.
			ctx := t.Context()
			seed(t, s)
			const ip = "192.0.2.7"
			create := func(id, from string, expires time.Duration) {
				a := newAuthRequest(id)
				a.ClientIP, a.ExpiresAt = from, at(expires)
				mustOK(t, "CreateAuthRequest "+id, s.CreateAuthRequest(ctx, a))
			}
			for i := range 5 {
				create(fmt.Sprintf("live-%d", i), ip, time.Minute)
			}
			create("expired", ip, 0)
			create("other-ip", "192.0.2.8", time.Minute)
			create("done", ip, time.Minute)
			mustOK(t, "CompleteAuthRequest", s.CompleteAuthRequest(ctx, "done", "u1", at(0), []string{"pwd"}, at(0)))
			for _, tc := range []struct {
				ip   string
				max  int
				want int
			}{{ip, 100, 5}, {ip, 3, 3}, {"192.0.2.8", 100, 1}, {"198.51.100.1", 100, 0}} {
				n, err := s.CountPendingAuthRequests(ctx, tc.ip, at(0), tc.max)
				mustOK(t, "CountPendingAuthRequests", err)
				if n != tc.want {
					t.Errorf("CountPendingAuthRequests(%s, max %d) = %d, want %d", tc.ip, tc.max, n, tc.want)
				}
			}
			n, err := s.CountPendingAuthRequests(ctx, ip, at(2*time.Minute), 100)
			mustOK(t, "CountPendingAuthRequests later", err)
			if n != 0 {
				t.Errorf("after every request expired: %d pending", n)
			}
		}},
		{"AuthRequest/Complete", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			a := newAuthRequest("a1")
			mustOK(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, a))
			mustOK(t, "CompleteAuthRequest", s.CompleteAuthRequest(ctx, a.ID, "u1", at(-5*time.Second), []string{"pwd", "sms"}, at(0)))
			want := a
			want.UserID = "u1"
			want.AuthTime = at(-5 * time.Second)
			want.AMR = []string{"pwd", "sms"}
			want.CompletedAt = at(0)
			got, err := s.GetAuthRequest(ctx, a.ID)
			mustOK(t, "GetAuthRequest", err)
			same(t, "GetAuthRequest", want, got)
			if !got.Done() {
				t.Error("Done() = false after CompleteAuthRequest")
			}

			err = s.CompleteAuthRequest(ctx, a.ID, "u2", at(time.Second), []string{"pwd"}, at(time.Second))
			wantErr(t, "CompleteAuthRequest again", err, storage.ErrConflict)
			got, err = s.GetAuthRequest(ctx, a.ID)
			mustOK(t, "GetAuthRequest", err)
			same(t, "GetAuthRequest after the refused completion", want, got)

			err = s.CompleteAuthRequest(ctx, "nope", "u1", at(0), nil, at(0))
			wantErr(t, "CompleteAuthRequest absent", err, storage.ErrNotFound)
		}},
		{"AuthRequest/CompleteExpiry", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			for _, tc := range []struct {
				id      string
				expires time.Time
				want    error
			}{
				{"expires-at-now", at(0), storage.ErrConflict},
				{"expired", at(-time.Second), storage.ErrConflict},
				{"expires-after-now", at(time.Microsecond), nil},
			} {
				a := newAuthRequest(tc.id)
				a.ExpiresAt = tc.expires
				mustOK(t, "CreateAuthRequest "+tc.id, s.CreateAuthRequest(ctx, a))
				err := s.CompleteAuthRequest(ctx, tc.id, "u1", at(0), []string{"pwd"}, at(0))
				wantErr(t, "CompleteAuthRequest "+tc.id, err, tc.want)
				got, err := s.GetAuthRequest(ctx, tc.id)
				mustOK(t, "GetAuthRequest "+tc.id, err)
				if got.Done() != (tc.want == nil) {
					t.Errorf("%s: Done() = %v", tc.id, got.Done())
				}
			}
		}},
		{"AuthRequest/SetAuthCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			a := newAuthRequest("a1")
			mustOK(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, a))
			err := s.SetAuthCode(ctx, a.ID, hash("code1"), at(time.Minute))
			wantErr(t, "SetAuthCode on an uncompleted request", err, storage.ErrConflict)
			got, err := s.GetAuthRequest(ctx, a.ID)
			mustOK(t, "GetAuthRequest", err)
			same(t, "GetAuthRequest after the refused SetAuthCode", a, got)

			mustOK(t, "CompleteAuthRequest", s.CompleteAuthRequest(ctx, a.ID, "u1", at(0), []string{"pwd", "sms"}, at(0)))
			mustOK(t, "SetAuthCode", s.SetAuthCode(ctx, a.ID, hash("code1"), at(time.Minute)))
			want, err := s.GetAuthRequest(ctx, a.ID)
			mustOK(t, "GetAuthRequest", err)
			same(t, "CodeHash", hash("code1"), want.CodeHash)
			same(t, "CodeExpiresAt", at(time.Minute), want.CodeExpiresAt)
			same(t, "CodeUsedAt", time.Time{}, want.CodeUsedAt)

			err = s.SetAuthCode(ctx, a.ID, hash("code2"), at(2*time.Minute))
			wantErr(t, "SetAuthCode twice", err, storage.ErrConflict)
			got, err = s.GetAuthRequest(ctx, a.ID)
			mustOK(t, "GetAuthRequest", err)
			same(t, "GetAuthRequest after the second SetAuthCode", want, got)

			err = s.SetAuthCode(ctx, "nope", hash("code3"), at(time.Minute))
			wantErr(t, "SetAuthCode absent", err, storage.ErrNotFound, storage.ErrConflict)
		}},
		{"AuthRequest/ConsumeAuthCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			want := completedWithCode(t, s, "a1", "code1", at(time.Minute))

			_, err := s.ConsumeAuthCode(ctx, hash("unknown"), at(0))
			wantErr(t, "ConsumeAuthCode unknown", err, storage.ErrNotFound)

			got, err := s.ConsumeAuthCode(ctx, hash("code1"), at(10*time.Second))
			mustOK(t, "ConsumeAuthCode", err)
			want.CodeUsedAt = at(10 * time.Second)
			same(t, "ConsumeAuthCode", want, got)

			got, err = s.ConsumeAuthCode(ctx, hash("code1"), at(20*time.Second))
			wantErr(t, "ConsumeAuthCode replayed", err, storage.ErrAlreadyUsed)
			same(t, "ConsumeAuthCode replayed: the request", want, got)

			got, err = s.ConsumeAuthCode(ctx, hash("code1"), at(time.Hour))
			wantErr(t, "ConsumeAuthCode replayed after expiry", err, storage.ErrAlreadyUsed)
			same(t, "ConsumeAuthCode replayed after expiry: the request", want, got)

			stored, err := s.GetAuthRequest(ctx, "a1")
			mustOK(t, "GetAuthRequest", err)
			same(t, "GetAuthRequest", want, stored)
		}},
		{"AuthRequest/GetAuthRequestByCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			want := completedWithCode(t, s, "a1", "code1", at(time.Minute))
			_, err := s.GetAuthRequestByCode(ctx, hash("unknown"))
			wantErr(t, "GetAuthRequestByCode unknown", err, storage.ErrNotFound)
			_, err = s.GetAuthRequestByCode(ctx, nil)
			wantErr(t, "GetAuthRequestByCode without a hash", err, storage.ErrNotFound)
			got, err := s.GetAuthRequestByCode(ctx, hash("code1"))
			mustOK(t, "GetAuthRequestByCode", err)
			same(t, "GetAuthRequestByCode", want, got)
			// Looking does not redeem: the code is still consumable once.
			got, err = s.ConsumeAuthCode(ctx, hash("code1"), at(10*time.Second))
			mustOK(t, "ConsumeAuthCode after GetAuthRequestByCode", err)
			want.CodeUsedAt = at(10 * time.Second)
			same(t, "ConsumeAuthCode after GetAuthRequestByCode", want, got)
			got, err = s.GetAuthRequestByCode(ctx, hash("code1"))
			mustOK(t, "GetAuthRequestByCode of a used code", err)
			same(t, "GetAuthRequestByCode of a used code", want, got)
			// An expired code is still found (the caller decides).
			_, err = s.GetAuthRequestByCode(ctx, hash("code1"))
			mustOK(t, "GetAuthRequestByCode after expiry", err)
		}},
		{"AuthRequest/ConsumeAuthCodeExpiry", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			atNow := completedWithCode(t, s, "a1", "code1", at(time.Minute))
			_, err := s.ConsumeAuthCode(ctx, hash("code1"), at(time.Minute))
			wantErr(t, "ConsumeAuthCode expiring exactly now", err, storage.ErrNotFound)
			got, err := s.GetAuthRequest(ctx, "a1")
			mustOK(t, "GetAuthRequest", err)
			same(t, "GetAuthRequest after the refused ConsumeAuthCode", atNow, got)

			justBefore := completedWithCode(t, s, "a2", "code2", at(time.Minute))
			got, err = s.ConsumeAuthCode(ctx, hash("code2"), at(time.Minute-time.Microsecond))
			mustOK(t, "ConsumeAuthCode a microsecond before expiry", err)
			justBefore.CodeUsedAt = at(time.Minute - time.Microsecond)
			same(t, "ConsumeAuthCode a microsecond before expiry", justBefore, got)
		}},
	}
}

// completedWithCode creates auth request id, completes it for u1 at at(0) and gives it code,
// expiring at codeExpires. It returns the stored request.
func completedWithCode(t *testing.T, s storage.Storage, id, code string, codeExpires time.Time) storage.AuthRequest {
	t.Helper()
	ctx := t.Context()
	a := newAuthRequest(id)
	mustOK(t, "CreateAuthRequest "+id, s.CreateAuthRequest(ctx, a))
	mustOK(t, "CompleteAuthRequest "+id, s.CompleteAuthRequest(ctx, id, "u1", at(-time.Second), []string{"pwd", "sms"}, at(0)))
	mustOK(t, "SetAuthCode "+id, s.SetAuthCode(ctx, id, hash(code), codeExpires))
	a.UserID = "u1"
	a.AuthTime = at(-time.Second)
	a.AMR = []string{"pwd", "sms"}
	a.CompletedAt = at(0)
	a.CodeHash = hash(code)
	a.CodeExpiresAt = codeExpires
	got, err := s.GetAuthRequest(ctx, id)
	mustOK(t, "GetAuthRequest "+id, err)
	same(t, "GetAuthRequest "+id, a, got)
	return a
}
