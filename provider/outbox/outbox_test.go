package outbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// stores are the backends: SQLite always, PostgreSQL with OTPIDP_TEST_DATABASE_URL.
func stores(t *testing.T) map[string]func(t *testing.T) storage.Storage {
	m := map[string]func(t *testing.T) storage.Storage{"sqlite": func(t *testing.T) storage.Storage {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "otpidp.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	}}
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not")
		}
		return m
	}
	m["postgres"] = func(t *testing.T) storage.Storage {
		s, err := postgres.Open(t.Context(), pgtest.SchemaURL(t, base, "outbox_"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return m
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T, open func(t *testing.T) storage.Storage) (storage.Storage, *Queue, *clock) {
	s := open(t)
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	q, err := NewQueue(t.Context(), s, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s, q, c
}

// TestDrainer: a message is sealed at rest, handed to its kind's handler once, and settled
// without its payload; a Retry comes back after the backoff; a Fail and a message past its
// expiry are never retried; settled rows are collected.
func TestDrainer(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, q, c := setup(t, open)
			ctx := t.Context()
			var got []string
			var fail atomic.Pointer[error]
			setFail := func(err error) { fail.Store(&err) }
			setFail(nil)
			d := NewDrainer(q, Config{Now: c.now, Backoff: 10 * time.Second})
			d.Handle("sms", func(_ context.Context, m Message) error {
				got = append(got, string(m.Payload))
				return *fail.Load()
			})

			id, err := q.Enqueue(ctx, "sms", []byte("Your code is 123456"), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			row, _ := s.GetOutbox(ctx, id)
			if bytes.Contains(row.Payload, []byte("123456")) || len(row.Payload) == 0 {
				t.Fatalf("payload stored readable: %q", row.Payload)
			}
			if err := d.Settle(ctx); err != nil {
				t.Fatal(err)
			}
			row, _ = s.GetOutbox(ctx, id)
			if len(got) != 1 || got[0] != "Your code is 123456" || row.State != storage.OutboxSent || row.Payload != nil {
				t.Fatalf("sent %q; row %+v", got, row)
			}

			// A safe retry comes back after the backoff, then succeeds.
			setFail(Retry("throttled", errors.New("429"), 0))
			id, _ = q.Enqueue(ctx, "sms", []byte("second"), time.Time{})
			_ = d.Settle(ctx)
			row, _ = s.GetOutbox(ctx, id)
			if row.State != storage.OutboxPending || row.LastError != "throttled" || !row.NextAttemptAt.Equal(c.now().Add(10*time.Second)) {
				t.Fatalf("after a retryable failure: %+v", row)
			}
			setFail(nil)
			_ = d.Settle(ctx)
			if row, _ = s.GetOutbox(ctx, id); row.State != storage.OutboxPending {
				t.Fatalf("retried before the backoff: %+v", row)
			}
			c.advance(10 * time.Second)
			_ = d.Settle(ctx)
			if row, _ = s.GetOutbox(ctx, id); row.State != storage.OutboxSent || row.Attempts != 2 {
				t.Fatalf("after the backoff: %+v", row)
			}

			// A permanent failure is never retried.
			setFail(Fail("undeliverable", errors.New("landline")))
			id, _ = q.Enqueue(ctx, "sms", []byte("third"), time.Time{})
			_ = d.Settle(ctx)
			c.advance(time.Hour)
			_ = d.Settle(ctx)
			if row, _ = s.GetOutbox(ctx, id); row.State != storage.OutboxFailed || row.LastError != "undeliverable" || row.Attempts != 1 || row.Payload != nil {
				t.Fatalf("after a permanent failure: %+v", row)
			}

			// Too late: never sent.
			setFail(nil)
			n := len(got)
			_, _ = q.Enqueue(ctx, "sms", []byte("late"), c.now().Add(time.Minute))
			c.advance(time.Minute)
			_ = d.Settle(ctx)
			if len(got) != n {
				t.Fatalf("an expired message was sent")
			}

			c.advance(25 * time.Hour)
			d.collect(ctx)
			if _, err := s.GetOutbox(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("settled message not collected: %v", err)
			}
		})
	}
}

// TestDrainerAtMostOnce: a message whose claimer stopped mid-send is not sent again by the
// next claimer (it may have gone out), and a handler's retries stop at MaxAttempts.
func TestDrainerAtMostOnce(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, q, c := setup(t, open)
			ctx := t.Context()
			id, _ := q.Enqueue(ctx, "sms", []byte("x"), time.Time{})
			if _, err := s.ClaimOutbox(ctx, "crashed", []string{"sms"}, c.now(), c.now().Add(time.Minute), 10); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			d := NewDrainer(q, Config{Now: c.now, MaxAttempts: 2, Backoff: time.Second})
			d.Handle("sms", func(context.Context, Message) error {
				calls.Add(1)
				return Retry("unavailable", errors.New("down"), 0)
			})
			c.advance(time.Minute)
			_ = d.Settle(ctx)
			row, _ := s.GetOutbox(ctx, id)
			if calls.Load() != 0 || row.State != storage.OutboxFailed || row.LastError != storage.OutboxLeaseExpired {
				t.Fatalf("after the lease expired: %d sends, %+v", calls.Load(), row)
			}
			id, _ = q.Enqueue(ctx, "sms", []byte("y"), time.Time{})
			for range 3 {
				_ = d.Settle(ctx)
				c.advance(time.Minute)
			}
			row, _ = s.GetOutbox(ctx, id)
			if calls.Load() != 2 || row.State != storage.OutboxFailed || row.LastError != "unavailable" {
				t.Fatalf("retries: %d sends, %+v; want 2 and failed", calls.Load(), row)
			}
		})
	}
}

// TestDrainersShareAStore: two drainers (two instances) racing over one store send each
// message exactly once.
func TestDrainersShareAStore(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			_, q, c := setup(t, open)
			ctx := t.Context()
			const n = 30
			var mu sync.Mutex
			sent := map[string]int{}
			handler := func(_ context.Context, m Message) error {
				time.Sleep(time.Millisecond)
				mu.Lock()
				sent[string(m.Payload)]++
				mu.Unlock()
				return nil
			}
			var drainers []*Drainer
			for range 2 {
				d := NewDrainer(q, Config{Now: c.now, Batch: 3})
				d.Handle("sms", handler)
				drainers = append(drainers, d)
			}
			for i := range n {
				if _, err := q.Enqueue(ctx, "sms", []byte{byte('A' + i)}, time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for _, d := range drainers {
				wg.Go(func() {
					if err := d.Settle(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if len(sent) != n {
				t.Fatalf("%d of %d messages sent", len(sent), n)
			}
			for p, k := range sent {
				if k != 1 {
					t.Errorf("message %q sent %d times", p, k)
				}
			}
		})
	}
}
