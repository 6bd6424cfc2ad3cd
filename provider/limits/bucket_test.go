package limits_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/limits"
)

// TestBuckets: a bucket allows its burst, refuses the next with the wait until a token is back,
// refills continuously, and keeps subjects apart; Allow takes nothing and Spend never refuses.
func TestBuckets(t *testing.T) {
	c := newClock()
	b := limits.NewBuckets(limits.Rate{Max: 3, Per: 30 * time.Second}, 0)
	for i := range 3 {
		if v := b.Take("a", c.Now()); !v.OK {
			t.Fatalf("take %d of 3: %+v", i+1, v)
		}
	}
	v := b.Take("a", c.Now())
	if v.OK || v.RetryAfter != 10*time.Second || !v.Report {
		t.Fatalf("fourth: %+v, want refused for 10s, reported", v)
	}
	if v := b.Take("a", c.Now()); v.OK || v.Report {
		t.Fatalf("fifth: %+v, want refused and not reported again within a minute", v)
	}
	if v := b.Allow("a", c.Now()); v.OK {
		t.Fatalf("Allow of an empty bucket: %+v", v)
	}
	if v := b.Take("b", c.Now()); !v.OK {
		t.Fatalf("another subject: %+v", v)
	}
	c.Add(10 * time.Second)
	if v := b.Take("a", c.Now()); !v.OK {
		t.Fatalf("after 10s one token is back: %+v", v)
	}
	if v := b.Take("a", c.Now()); v.OK {
		t.Fatalf("only one: %+v", v)
	}
	c.Add(time.Hour)
	for range 5 {
		if v := b.Allow("a", c.Now()); !v.OK {
			t.Fatalf("Allow after refill: %+v", v)
		}
	}
	for range 5 {
		b.Spend("c", c.Now()) // never refuses, leaves the bucket empty
	}
	if v := b.Allow("c", c.Now()); v.OK {
		t.Fatalf("Allow after 5 spends of 3 tokens: %+v", v)
	}
	if v := b.Allow("fresh", c.Now()); !v.OK || b.Len() != 3 {
		t.Fatalf("Allow of an unknown subject: %+v, kept %d subjects (want a, b, c)", v, b.Len())
	}

	off := limits.NewBuckets(limits.Rate{Max: -1, Per: time.Hour}, 0)
	for range 100 {
		if v := off.Take("a", c.Now()); !v.OK {
			t.Fatal("an off rate refused")
		}
	}
}

// TestBucketsBounded: memory stays bounded under many subjects; the least recently used is
// forgotten (a forgotten bucket is full again), a recently used one is kept.
func TestBucketsBounded(t *testing.T) {
	c := newClock()
	b := limits.NewBuckets(limits.Rate{Max: 1, Per: time.Hour}, 3200)
	b.Take("keep", c.Now())
	for i := range 20_000 {
		b.Take(fmt.Sprintf("10.0.%d.%d", i/256, i%256), c.Now())
		if i%8 == 0 {
			b.Allow("keep", c.Now()) // used often: stays
		}
	}
	if n := b.Len(); n > 3200 || n < 3000 {
		t.Fatalf("kept %d subjects, want about 3200 and never more", n)
	}
	if v := b.Take("keep", c.Now()); v.OK {
		t.Fatalf("a recently used, empty bucket was forgotten: %+v", v)
	}
}

// TestBucketsConcurrent: under concurrent takes exactly the burst is allowed (run with -race).
func TestBucketsConcurrent(t *testing.T) {
	now := newClock().Now()
	b := limits.NewBuckets(limits.Rate{Max: 100, Per: time.Hour}, 0)
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if b.Take("a", now).OK {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if ok != 100 {
		t.Fatalf("%d of 400 allowed, want exactly 100", ok)
	}
}

// TestClientAuth: the provider's mark reaches the middleware's ClientAuth; without one it is
// a no-op.
func TestClientAuth(t *testing.T) {
	limits.ClientAuthenticated(t.Context(), "nobody listens")
	ctx, a := limits.WithClientAuth(t.Context())
	if a.ClientID() != "" {
		t.Fatal("authenticated before anything happened")
	}
	limits.ClientAuthenticated(ctx, "app")
	if a.ClientID() != "app" {
		t.Fatalf("ClientID = %q", a.ClientID())
	}
}

func BenchmarkBucketsTake(b *testing.B) {
	bk := limits.NewBuckets(limits.Rate{Max: 1 << 30, Per: time.Second}, 0)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bk.Take("192.0.2.1", now)
		}
	})
}
