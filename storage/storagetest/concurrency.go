package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// race runs fn(i) for i in [0, n) in n goroutines released together and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts the nil errors and fails the test unless there are want of them and every
// other error is one of others.
func winners(t *testing.T, what string, errs []error, want int, others ...error) {
	t.Helper()
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
			continue
		}
		ok := false
		for _, o := range others {
			ok = ok || errors.Is(err, o)
		}
		if !ok {
			t.Errorf("%s: unexpected error: %v", what, err)
		}
	}
	if n != want {
		t.Fatalf("%s: %d of %d succeeded, want %d", what, n, len(errs), want)
	}
}

func concurrencyTests() []subtest {
	return []subtest{
		{"Concurrent/ConsumeCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "123456")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			errs := race(20, func(int) error {
				_, err := s.ConsumeCode(ctx, f.ID, f.CodeHash, maxAttempts, at(0))
				return err
			})
			winners(t, "ConsumeCode", errs, 1, storage.ErrConflict)
		}},
		{"Concurrent/RecordWrongCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "123456")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			counts := make([]int, 50)
			errs := race(len(counts), func(i int) error {
				var err error
				counts[i], err = s.RecordWrongCode(ctx, f.ID, f.CodeHash, maxAttempts)
				return err
			})
			winners(t, "RecordWrongCode", errs, maxAttempts, storage.ErrConflict)
			var got []int
			for i, err := range errs {
				if err == nil {
					got = append(got, counts[i])
				}
			}
			slices.Sort(got)
			same(t, "counts returned", []int{1, 2, 3, 4, 5}, got)

			_, err := s.ConsumeCode(ctx, f.ID, f.CodeHash, maxAttempts, at(0))
			wantErr(t, "ConsumeCode with the right code after the limit", err, storage.ErrConflict)
			stored, err := s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			same(t, "CodeAttempts", maxAttempts, stored.CodeAttempts)
		}},
		{"Concurrent/CompleteRegistration", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newRegisterFlow("f1", "+15550000009", "123456")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			errs := race(10, func(i int) error {
				u := newUser(fmt.Sprintf("new%d", i), f.Phone)
				return s.CompleteRegistration(ctx, f.ID, f.CodeHash, maxAttempts, at(0), u)
			})
			winners(t, "CompleteRegistration", errs, 1, storage.ErrConflict, storage.ErrAlreadyExists)
			u, err := s.GetUserByPhone(ctx, f.Phone)
			mustOK(t, "GetUserByPhone", err)
			if i := slices.IndexFunc(errs, func(err error) bool { return err == nil }); u.ID != fmt.Sprintf("new%d", i) {
				t.Errorf("registered user %q, but goroutine %d won", u.ID, i)
			}
		}},
		{"Concurrent/ConsumeAuthCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			a := completedWithCode(t, s, "a1", "code1", at(time.Minute))
			got := make([]storage.AuthRequest, 20)
			errs := race(len(got), func(i int) error {
				var err error
				got[i], err = s.ConsumeAuthCode(ctx, a.CodeHash, at(0))
				return err
			})
			winners(t, "ConsumeAuthCode", errs, 1, storage.ErrAlreadyUsed)
			for i, r := range got {
				if r.ID != a.ID || r.CodeUsedAt.IsZero() {
					t.Errorf("goroutine %d (err %v) got request %q used at %v, want %q used", i, errs[i], r.ID, r.CodeUsedAt, a.ID)
				}
			}
		}},
		{"Concurrent/RotateRefreshTokenGrace", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			old := newRefreshToken("r0", "fam", "c1", "u1")
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, old))
			const n = 4
			errs := race(n, func(i int) error {
				next, access := successor(fmt.Sprintf("r%d", i+1), old, at(time.Minute))
				return s.RotateRefreshTokenGrace(ctx, old.ID, 30*time.Second, next, access, at(time.Minute))
			})
			winners(t, "RotateRefreshTokenGrace", errs, n)
			for i := range n {
				next, access := successor(fmt.Sprintf("r%d", i+1), old, at(time.Minute))
				checkRefresh(t, s, next)
				checkAccess(t, s, access)
			}
		}},
		{"Concurrent/RotateRefreshToken", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			old := newRefreshToken("r0", "fam", "c1", "u1")
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, old))
			const n = 10
			errs := race(n, func(i int) error {
				next, access := successor(fmt.Sprintf("r%d", i+1), old, at(time.Minute))
				return s.RotateRefreshToken(ctx, old.ID, next, access, at(time.Minute))
			})
			winners(t, "RotateRefreshToken", errs, 1, storage.ErrAlreadyUsed)
			for i, err := range errs {
				next, access := successor(fmt.Sprintf("r%d", i+1), old, at(time.Minute))
				if err == nil {
					checkRefresh(t, s, next)
					checkAccess(t, s, access)
				} else {
					checkAbsent(t, s, next, access)
				}
			}
		}},
		{"Concurrent/CreateSigningKey", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			errs := race(10, func(i int) error {
				return s.CreateSigningKey(ctx, newSigningKey(fmt.Sprintf("k%d", i), "ES256", 7))
			})
			winners(t, "CreateSigningKey", errs, 1, storage.ErrAlreadyExists)
			keys, err := s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys", err)
			if len(keys) != 1 {
				t.Fatalf("ListSigningKeys = %d keys, want 1", len(keys))
			}
		}},
		{"Concurrent/Secret", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			got := make([][]byte, 10)
			errs := race(len(got), func(i int) error {
				var err error
				got[i], err = s.Secret(ctx, "cookie", fmt.Appendf(nil, "value %d", i))
				return err
			})
			winners(t, "Secret", errs, len(got))
			for i, v := range got {
				if !bytes.Equal(v, got[0]) {
					t.Errorf("Secret in goroutine %d = %q, goroutine 0 got %q", i, v, got[0])
				}
			}
			if !bytes.HasPrefix(got[0], []byte("value ")) {
				t.Errorf("Secret = %q, not one of the values offered", got[0])
			}
		}},
	}
}
