package auth

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
)

// TestConcurrentRightPasswordsTwoInstances: two instances on one PostgreSQL, whose clocks are
// 50 ms apart (as two hosts' are), take 20 sign-ins of one number with the right password at
// the same moment: none is refused as a wrong password. (Before, an attempt claim that lost a
// race counted as throttled, and the refusal reads "wrong phone or password".)
func TestConcurrentRightPasswordsTwoInstances(t *testing.T) {
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not")
		}
		t.Skip("OTPIDP_TEST_DATABASE_URL is not set")
	}
	url := pgtest.SchemaURL(t, base, "claim_")
	open := func() storage.Storage {
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var instances [2]*Authenticator
	for i, skew := range []time.Duration{0, -50 * time.Millisecond} {
		e := newEnvOn(t, &spyStore{Storage: open()}, t.Name())
		a, err := New(t.Context(), e.store, e.sms, testConfig(),
			WithClock(func() time.Time { return time.Now().Add(skew) }),
			WithRand(rand.NewChaCha8(sha256.Sum256([]byte{byte(i)}))))
		if err != nil {
			t.Fatal(err)
		}
		instances[i] = a
	}
	if _, err := instances[0].CreateUser(t.Context(), testPhone, testName, testPassword); err != nil {
		t.Fatal(err)
	}
	var wrong atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Go(func() {
			<-start
			ctx := from(t.Context(), "192.0.2.1")
			_, err := instances[i%2].StartLogin(ctx, testPhone, testPassword, "", browser("a"))
			var le *LimitError
			switch {
			case errors.Is(err, ErrInvalidCredentials):
				wrong.Add(1)
			case err != nil && !errors.As(err, &le): // an SMS limit may refuse the text; that is not this test's
				t.Errorf("sign-in %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of 20 concurrent sign-ins with the right password were refused as wrong", n)
	}
}
