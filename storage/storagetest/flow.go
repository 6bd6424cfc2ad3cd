package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func flowTests() []subtest {
	return []subtest{
		{"Flow/CreateGetDelete", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			login := newFlow("f1", "123456")
			login.CodeAttempts = 2
			login.SendCount = 3
			login.CodeUsedAt = at(-time.Second)
			register := newRegisterFlow("f2", "+15550000009", "654321")
			register.AuthRequestID = ""
			noCode := storage.Flow{ID: "f3", Kind: storage.FlowRegister, Phone: "+15550000008", ExpiresAt: at(time.Hour)}
			for _, f := range []storage.Flow{login, register, noCode} {
				mustOK(t, "CreateFlow "+f.ID, s.CreateFlow(ctx, f))
			}
			for _, f := range []storage.Flow{login, register, noCode} {
				got, err := s.GetFlow(ctx, f.ID)
				mustOK(t, "GetFlow "+f.ID, err)
				same(t, "GetFlow "+f.ID, f, got)
			}
			_, err := s.GetFlow(ctx, "nope")
			wantErr(t, "GetFlow absent", err, storage.ErrNotFound)
			wantErr(t, "CreateFlow same ID", s.CreateFlow(ctx, newFlow("f1", "000000")), storage.ErrAlreadyExists)

			mustOK(t, "DeleteFlow", s.DeleteFlow(ctx, "f1"))
			_, err = s.GetFlow(ctx, "f1")
			wantErr(t, "GetFlow deleted", err, storage.ErrNotFound)
			wantErr(t, "DeleteFlow again", s.DeleteFlow(ctx, "f1"), nil, storage.ErrNotFound)
			got, err := s.GetFlow(ctx, "f2")
			mustOK(t, "GetFlow f2", err)
			same(t, "GetFlow f2 after deleting f1", register, got)
		}},
		{"Flow/ConsumeCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "123456")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))

			_, err := s.ConsumeCode(ctx, f.ID, hash("000000"), maxAttempts, at(0))
			wantErr(t, "ConsumeCode wrong code", err, storage.ErrConflict)
			_, err = s.ConsumeCode(ctx, "nope", hash("123456"), maxAttempts, at(0))
			wantErr(t, "ConsumeCode absent flow", err, storage.ErrNotFound, storage.ErrConflict)

			got, err := s.ConsumeCode(ctx, f.ID, hash("123456"), maxAttempts, at(time.Minute))
			mustOK(t, "ConsumeCode", err)
			want := f
			want.CodeUsedAt = at(time.Minute)
			same(t, "ConsumeCode", want, got)

			_, err = s.ConsumeCode(ctx, f.ID, hash("123456"), maxAttempts, at(2*time.Minute))
			wantErr(t, "ConsumeCode reused", err, storage.ErrConflict)
			got, err = s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "GetFlow after the reuse", want, got)
		}},
		{"Flow/ConsumeCodeExpiry", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "123456") // code expires at(5m)
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			_, err := s.ConsumeCode(ctx, f.ID, hash("123456"), maxAttempts, at(5*time.Minute))
			wantErr(t, "ConsumeCode expiring exactly now", err, storage.ErrConflict)
			_, err = s.ConsumeCode(ctx, f.ID, hash("123456"), maxAttempts, at(6*time.Minute))
			wantErr(t, "ConsumeCode expired", err, storage.ErrConflict)
			got, err := s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "GetFlow after the refused ConsumeCode", f, got)

			got, err = s.ConsumeCode(ctx, f.ID, hash("123456"), maxAttempts, at(5*time.Minute-time.Microsecond))
			mustOK(t, "ConsumeCode a microsecond before expiry", err)
			same(t, "CodeUsedAt", at(5*time.Minute-time.Microsecond), got.CodeUsedAt)
		}},
		{"Flow/ConsumeCodeAttempts", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			for _, tc := range []struct {
				id       string
				attempts int
				want     error
			}{
				{"max-minus-one", maxAttempts - 1, nil},
				{"max", maxAttempts, storage.ErrConflict},
				{"over-max", maxAttempts + 1, storage.ErrConflict},
			} {
				f := newFlow(tc.id, "123456")
				f.CodeAttempts = tc.attempts
				mustOK(t, "CreateFlow "+tc.id, s.CreateFlow(ctx, f))
				_, err := s.ConsumeCode(ctx, tc.id, hash("123456"), maxAttempts, at(0))
				wantErr(t, "ConsumeCode "+tc.id, err, tc.want)
			}

			// The same edges reached through RecordWrongCode.
			f := newFlow("counted", "123456")
			mustOK(t, "CreateFlow counted", s.CreateFlow(ctx, f))
			for range maxAttempts - 1 {
				_, err := s.RecordWrongCode(ctx, f.ID, f.CodeHash, maxAttempts)
				mustOK(t, "RecordWrongCode", err)
			}
			got, err := s.ConsumeCode(ctx, f.ID, hash("123456"), maxAttempts, at(0))
			mustOK(t, "ConsumeCode after max-1 wrong tries", err)
			same(t, "CodeAttempts", maxAttempts-1, got.CodeAttempts)

			g := newFlow("locked", "123456")
			mustOK(t, "CreateFlow locked", s.CreateFlow(ctx, g))
			for range maxAttempts {
				_, err := s.RecordWrongCode(ctx, g.ID, g.CodeHash, maxAttempts)
				mustOK(t, "RecordWrongCode", err)
			}
			_, err = s.ConsumeCode(ctx, g.ID, hash("123456"), maxAttempts, at(0))
			wantErr(t, "ConsumeCode after max wrong tries", err, storage.ErrConflict)
		}},
		{"Flow/RecordWrongCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "123456")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			for want := 1; want <= maxAttempts; want++ {
				got, err := s.RecordWrongCode(ctx, f.ID, f.CodeHash, maxAttempts)
				mustOK(t, "RecordWrongCode", err)
				if got != want {
					t.Fatalf("RecordWrongCode = %d, want %d", got, want)
				}
			}
			_, err := s.RecordWrongCode(ctx, f.ID, f.CodeHash, maxAttempts)
			wantErr(t, "RecordWrongCode past the limit", err, storage.ErrConflict)
			got, err := s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "CodeAttempts", maxAttempts, got.CodeAttempts)

			stale := newFlow("f2", "123456")
			mustOK(t, "CreateFlow f2", s.CreateFlow(ctx, stale))
			_, err = s.RecordWrongCode(ctx, stale.ID, hash("an older code"), maxAttempts)
			wantErr(t, "RecordWrongCode against a replaced code", err, storage.ErrConflict)
			got, err = s.GetFlow(ctx, stale.ID)
			mustOK(t, "GetFlow f2", err)
			same(t, "GetFlow f2 after the stale try", stale, got)

			used := newFlow("f3", "123456")
			mustOK(t, "CreateFlow f3", s.CreateFlow(ctx, used))
			_, err = s.ConsumeCode(ctx, used.ID, used.CodeHash, maxAttempts, at(0))
			mustOK(t, "ConsumeCode f3", err)
			_, err = s.RecordWrongCode(ctx, used.ID, used.CodeHash, maxAttempts)
			wantErr(t, "RecordWrongCode on a used code", err, storage.ErrConflict)

			_, err = s.RecordWrongCode(ctx, "nope", f.CodeHash, maxAttempts)
			wantErr(t, "RecordWrongCode absent", err, storage.ErrNotFound, storage.ErrConflict)
		}},
		{"Flow/ReplaceCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "111111")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			for range 2 {
				_, err := s.RecordWrongCode(ctx, f.ID, f.CodeHash, maxAttempts)
				mustOK(t, "RecordWrongCode", err)
			}
			// prevSentAt in another zone than the one stored: compared as an instant.
			err := s.ReplaceCode(ctx, f.ID, f.CodeSentAt.UTC(), hash("222222"), at(10*time.Minute), at(30*time.Second))
			mustOK(t, "ReplaceCode", err)
			want := f
			want.CodeHash = hash("222222")
			want.CodeExpiresAt = at(10 * time.Minute)
			want.CodeSentAt = at(30 * time.Second)
			want.CodeAttempts = 0
			want.SendCount = f.SendCount + 1
			got, err := s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "GetFlow after ReplaceCode", want, got)

			err = s.ReplaceCode(ctx, f.ID, f.CodeSentAt, hash("333333"), at(11*time.Minute), at(31*time.Second))
			wantErr(t, "ReplaceCode with a stale prevSentAt", err, storage.ErrConflict)
			got, err = s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "GetFlow after the stale ReplaceCode", want, got)

			_, err = s.ConsumeCode(ctx, f.ID, hash("111111"), maxAttempts, at(time.Minute))
			wantErr(t, "ConsumeCode with the replaced code", err, storage.ErrConflict)
			_, err = s.ConsumeCode(ctx, f.ID, hash("222222"), maxAttempts, at(time.Minute))
			mustOK(t, "ConsumeCode with the new code", err)

			err = s.ReplaceCode(ctx, f.ID, want.CodeSentAt, hash("444444"), at(12*time.Minute), at(2*time.Minute))
			wantErr(t, "ReplaceCode after the code was used", err, storage.ErrConflict)

			// The first code of a flow created without one.
			first := storage.Flow{ID: "f2", Kind: storage.FlowRegister, Phone: "+15550000009", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
			mustOK(t, "CreateFlow f2", s.CreateFlow(ctx, first))
			mustOK(t, "ReplaceCode first code", s.ReplaceCode(ctx, first.ID, time.Time{}, hash("555555"), at(5*time.Minute), at(0)))
			first.CodeHash = hash("555555")
			first.CodeExpiresAt = at(5 * time.Minute)
			first.CodeSentAt = at(0)
			first.SendCount = 1
			got, err = s.GetFlow(ctx, first.ID)
			mustOK(t, "GetFlow f2", err)
			same(t, "GetFlow f2", first, got)

			err = s.ReplaceCode(ctx, "nope", time.Time{}, hash("666666"), at(5*time.Minute), at(0))
			wantErr(t, "ReplaceCode absent", err, storage.ErrNotFound, storage.ErrConflict)
		}},
		{"Flow/CompleteRegistration", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newRegisterFlow("f1", "+15550000009", "123456")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			u := newUser("u9", "+15550000009")

			err := s.CompleteRegistration(ctx, f.ID, hash("000000"), maxAttempts, at(0), u)
			wantErr(t, "CompleteRegistration wrong code", err, storage.ErrConflict)
			err = s.CompleteRegistration(ctx, f.ID, f.CodeHash, maxAttempts, at(5*time.Minute), u)
			wantErr(t, "CompleteRegistration expiring exactly now", err, storage.ErrConflict)
			_, err = s.GetUser(ctx, u.ID)
			wantErr(t, "GetUser after the refused registrations", err, storage.ErrNotFound)
			_, err = s.GetUserByPhone(ctx, u.Phone)
			wantErr(t, "GetUserByPhone after the refused registrations", err, storage.ErrNotFound)

			mustOK(t, "CompleteRegistration", s.CompleteRegistration(ctx, f.ID, f.CodeHash, maxAttempts, at(time.Minute), u))
			got, err := s.GetUser(ctx, u.ID)
			mustOK(t, "GetUser", err)
			same(t, "GetUser", u, got)
			gotFlow, err := s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "CodeUsedAt", at(time.Minute), gotFlow.CodeUsedAt)

			again := newUser("u10", "+15550000010")
			err = s.CompleteRegistration(ctx, f.ID, f.CodeHash, maxAttempts, at(2*time.Minute), again)
			wantErr(t, "CompleteRegistration with a spent code", err, storage.ErrConflict)
			_, err = s.GetUser(ctx, again.ID)
			wantErr(t, "GetUser after the replay", err, storage.ErrNotFound)
		}},
		{"Flow/CompleteRegistrationTaken", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			for _, tc := range []struct {
				name string
				user storage.User
			}{
				{"phone", newUser("u9", "+15550000001")}, // u1's phone
				{"id", newUser("u1", "+15550000009")},    // u1's ID
			} {
				f := newRegisterFlow("f-"+tc.name, tc.user.Phone, "123456")
				mustOK(t, "CreateFlow "+tc.name, s.CreateFlow(ctx, f))
				err := s.CompleteRegistration(ctx, f.ID, f.CodeHash, maxAttempts, at(0), tc.user)
				wantErr(t, "CompleteRegistration with a taken "+tc.name, err, storage.ErrAlreadyExists)

				u1, err := s.GetUser(ctx, "u1")
				mustOK(t, "GetUser u1", err)
				same(t, "GetUser u1", newUser("u1", "+15550000001"), u1)
				_, err = s.GetUser(ctx, "u9")
				wantErr(t, "GetUser u9", err, storage.ErrNotFound)
				_, err = s.GetUserByPhone(ctx, "+15550000009")
				wantErr(t, "GetUserByPhone +15550000009", err, storage.ErrNotFound)

				got, err := s.GetFlow(ctx, f.ID)
				mustOK(t, "GetFlow", err)
				same(t, "GetFlow: the code is not spent", f, got)
				_, err = s.ConsumeCode(ctx, f.ID, f.CodeHash, maxAttempts, at(0))
				mustOK(t, "ConsumeCode after the refused registration", err)
			}
		}},
	}
}
