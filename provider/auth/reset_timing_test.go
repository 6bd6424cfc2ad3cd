package auth

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// resetWork is the store, recording the methods a reset calls, in order.
type resetWork struct {
	storage.Storage
	mu    sync.Mutex
	calls []string
}

func (w *resetWork) note(m string) {
	w.mu.Lock()
	w.calls = append(w.calls, m)
	w.mu.Unlock()
}

func (w *resetWork) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.calls
	w.calls = nil
	return out
}

func (w *resetWork) GetUserByPhone(ctx context.Context, p string) (storage.User, error) {
	w.note("GetUserByPhone")
	return w.Storage.GetUserByPhone(ctx, p)
}

func (w *resetWork) CreateFlow(ctx context.Context, f storage.Flow) error {
	w.note("CreateFlow")
	return w.Storage.CreateFlow(ctx, f)
}

func (w *resetWork) Take(ctx context.Context, now time.Time, l ...storage.Limit) (*storage.Refusal, error) {
	w.note("Take")
	return w.Storage.Take(ctx, now, l...)
}

func (w *resetWork) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	w.note("AppendAudit")
	return w.Storage.AppendAudit(ctx, e)
}

// countingReader counts the random bytes drawn.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestResetDoesTheSameWork: a reset for a number without an account makes the same store calls,
// in the same order, draws the same randomness and sends one text, as one for a number with an
// account; only the text's words differ (a notice instead of the code). BenchmarkResetStart measures what is left.
func TestResetDoesTheSameWork(t *testing.T) {
	work := &resetWork{Storage: openStore(t)}
	e := newEnvOn(t, &spyStore{Storage: work}, t.Name())
	e.addUser(t)
	rnd := &countingReader{r: e.a.rand}
	e.a.rand = rnd
	run := func(phoneNumber string) ([]string, int, int) {
		t.Helper()
		work.take()
		rnd.n = 0
		sent := e.sms.count()
		if _, err := e.a.StartReset(t.Context(), phoneNumber, "", browser("a")); err != nil {
			t.Fatalf("StartReset(%s): %v", phoneNumber, err)
		}
		return work.take(), rnd.n, e.sms.count() - sent
	}
	knownCalls, knownRand, knownSent := run(testPhone)
	unknownCalls, unknownRand, unknownSent := run("+12025550143")
	if knownSent != 1 || unknownSent != 1 {
		t.Fatalf("texts sent: known %d, unknown %d; want one each (a code, a notice)", knownSent, unknownSent)
	}
	if !slices.Equal(knownCalls, unknownCalls) || len(knownCalls) == 0 {
		t.Errorf("store calls differ:\nknown   %v\nunknown %v", knownCalls, unknownCalls)
	}
	if knownRand != unknownRand {
		t.Errorf("random bytes drawn: known %d, unknown %d", knownRand, unknownRand)
	}
}

// BenchmarkResetStart times StartReset for a number with an account and for one without, with a
// sender that returns at once (so what it measures is otpidp's own work, not Twilio's), and
// reports the median of each and their ratio.
//
//	go test -run '^$' -bench ResetStart -benchtime 2000x ./provider/auth/
func BenchmarkResetStart(b *testing.B) {
	store := openStoreB(b)
	a, err := New(b.Context(), store, &recorder{}, Config{OriginHost: testHost, DefaultRegion: "US"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.CreateUser(b.Context(), testPhone, testName, testPassword); err != nil {
		b.Fatal(err)
	}
	var known, unknown []time.Duration
	for i := 0; b.Loop(); i++ {
		phoneNumber, dst := testPhone, &known
		if i%2 == 1 {
			phoneNumber, dst = "+12025550143", &unknown
		}
		start := time.Now()
		if _, err := a.StartReset(b.Context(), phoneNumber, "", browser("a")); err != nil {
			b.Fatal(err)
		}
		*dst = append(*dst, time.Since(start))
	}
	if len(known) > 0 && len(unknown) > 0 {
		mk, mu := median(known), median(unknown)
		b.ReportMetric(float64(mk.Microseconds()), "known-median-µs")
		b.ReportMetric(float64(mu.Microseconds()), "unknown-median-µs")
		b.ReportMetric(float64(mu)/float64(mk), "unknown/known")
	}
}
