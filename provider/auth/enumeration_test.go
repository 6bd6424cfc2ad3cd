package auth

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// callLog is the store, recording which methods a request calls, in order.
type callLog struct {
	storage.Storage
	mu    sync.Mutex
	calls []string
}

func (c *callLog) note(m string) {
	c.mu.Lock()
	c.calls = append(c.calls, m)
	c.mu.Unlock()
}

func (c *callLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *callLog) GetUserByPhone(ctx context.Context, p string) (storage.User, error) {
	c.note("GetUserByPhone")
	return c.Storage.GetUserByPhone(ctx, p)
}

func (c *callLog) GetFailures(ctx context.Context, s, f string) (storage.Failures, error) {
	c.note("GetFailures")
	return c.Storage.GetFailures(ctx, s, f)
}

func (c *callLog) ClaimAttempt(ctx context.Context, s, f string, seen storage.Failures, until, now time.Time) error {
	c.note("ClaimAttempt")
	return c.Storage.ClaimAttempt(ctx, s, f, seen, until, now)
}

func (c *callLog) RecordFailure(ctx context.Context, s, f string, now, reset time.Time) (int, error) {
	c.note("RecordFailure")
	return c.Storage.RecordFailure(ctx, s, f, now, reset)
}

func (c *callLog) Take(ctx context.Context, now time.Time, l ...storage.Limit) (*storage.Refusal, error) {
	c.note("Take")
	return c.Storage.Take(ctx, now, l...)
}

func (c *callLog) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	c.note("AppendAudit")
	return c.Storage.AppendAudit(ctx, e)
}

func (c *callLog) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	c.note("GetAuthRequest")
	return c.Storage.GetAuthRequest(ctx, id)
}

// TestRefusalsDoTheSameWork: an unknown number, a wrong password and a throttled account go
// through the same store calls, in the same order, and the same number of password hashes, so
// their timing cannot tell them apart (BenchmarkLoginRefusal measures it).
func TestRefusalsDoTheSameWork(t *testing.T) {
	log := &callLog{Storage: openStore(t)}
	e := newEnvOn(t, &spyStore{Storage: log}, t.Name())
	e.addUser(t)
	work := func(phoneNumber, password string) ([]string, int64) {
		log.take()
		before := e.a.hashCalls.Load()
		if _, err := e.a.StartLogin(t.Context(), phoneNumber, password, "ar-1", browser("a")); err != ErrInvalidCredentials {
			t.Fatalf("StartLogin: err = %v, want exactly ErrInvalidCredentials", err)
		}
		return log.take(), e.a.hashCalls.Load() - before
	}
	wrongCalls, wrongHashes := work(testPhone, "not the password 1")
	unknownCalls, unknownHashes := work("+12025552671", "not the password 1")
	if !slices.Equal(wrongCalls, unknownCalls) || wrongHashes != unknownHashes || wrongHashes != 1 {
		t.Fatalf("wrong password: %v, %d hashes\nunknown number: %v, %d hashes", wrongCalls, wrongHashes, unknownCalls, unknownHashes)
	}
	for range 4 {
		work(testPhone, "not the password 1")
	}
	throttledCalls, throttledHashes := work(testPhone, testPassword)
	// A throttled attempt records no failure (so attackers cannot extend the delay for ever)
	// but is otherwise the same work, with the same hash.
	want := slices.DeleteFunc(slices.Clone(wrongCalls), func(s string) bool { return s == "RecordFailure" })
	got := slices.DeleteFunc(slices.Clone(throttledCalls), func(s string) bool { return s == "RecordFailure" || s == "ClaimAttempt" })
	want = slices.DeleteFunc(want, func(s string) bool { return s == "ClaimAttempt" })
	if !slices.Equal(want, got) || throttledHashes != 1 {
		t.Fatalf("throttled: %v, %d hashes; wrong password: %v", throttledCalls, throttledHashes, wrongCalls)
	}
}

// BenchmarkLoginRefusal times the refusal of an unknown number and of a wrong password with
// the default argon2id parameters, and reports the median of each and their ratio.
//
//	go test -run '^$' -bench LoginRefusal -benchtime 40x ./provider/auth/
func BenchmarkLoginRefusal(b *testing.B) {
	store := openStoreB(b)
	a, err := New(b.Context(), store, &recorder{}, Config{OriginHost: testHost, DefaultRegion: "US",
		Limits: Limits{LoginThrottleAfter: 1 << 30, LoginPerIP: Rate{Max: -1}, LoginGlobal: Rate{Max: -1}}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.CreateUser(b.Context(), testPhone, testName, testPassword); err != nil {
		b.Fatal(err)
	}
	var unknown, wrong []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		phoneNumber, dst := testPhone, &wrong
		if i%2 == 1 {
			phoneNumber, dst = "+12025552671", &unknown
		}
		start := time.Now()
		if _, err := a.StartLogin(b.Context(), phoneNumber, "not the password 1", "", browser("a")); err != ErrInvalidCredentials {
			b.Fatal(err)
		}
		*dst = append(*dst, time.Since(start))
	}
	b.StopTimer()
	if len(unknown) > 0 && len(wrong) > 0 {
		mu, mw := median(unknown), median(wrong)
		b.ReportMetric(float64(mu.Microseconds()), "unknown-median-µs")
		b.ReportMetric(float64(mw.Microseconds()), "wrong-median-µs")
		b.ReportMetric(float64(mu)/float64(mw), "unknown/wrong")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func openStoreB(b *testing.B) storage.Storage {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "otpidp.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}
