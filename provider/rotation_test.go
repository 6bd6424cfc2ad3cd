package provider

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// testClock is an injected clock that tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openSQLite(t *testing.T) storage.Storage {
	t.Helper()
	s, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func rotationConfig(clock *testClock) Config {
	cfg := Config{Now: clock.now, KeyCacheTTL: time.Minute, KeyLeadTime: 24 * time.Hour, KeyRotation: 30 * 24 * time.Hour}
	cfg.setDefaults()
	return cfg
}

func kids(t *testing.T, k *keys) []string {
	t.Helper()
	set, err := k.KeySet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, key := range set {
		ids = append(ids, key.ID())
	}
	slices.Sort(ids)
	return ids
}

func signingKID(t *testing.T, k *keys) string {
	t.Helper()
	sk, err := k.SigningKey(t.Context(), signingAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	return sk.ID()
}

// TestScheduledRotation follows two instances sharing one store through a rotation: the new key
// is published a lead time before it signs, each instance signs only with keys every instance
// publishes, the old key stays published for the retention and is then deleted.
func TestScheduledRotation(t *testing.T) {
	store := openSQLite(t)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: start}
	cfg := rotationConfig(clock)
	a := &keys{store: store, now: clock.now, ttl: cfg.KeyCacheTTL}
	b := &keys{store: store, now: clock.now, ttl: cfg.KeyCacheTTL}
	if err := a.ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	k1 := signingKID(t, a)
	if got := signingKID(t, b); got != k1 {
		t.Fatalf("instances sign with %s and %s, want one key", k1, got)
	}

	// Not due yet: nothing happens.
	clock.set(start.Add(30*24*time.Hour - time.Second))
	if r, err := a.rotateIfDue(t.Context(), cfg); err != nil || len(r) != 0 {
		t.Fatalf("rotateIfDue before the period = %v, %v; want nothing", r, err)
	}
	// b reads the key list now, so it holds a list without the new key for a cache TTL.
	_ = kids(t, b)

	rotatedAt := start.Add(30 * 24 * time.Hour)
	clock.set(rotatedAt)
	r, err := a.rotateIfDue(t.Context(), cfg)
	if err != nil || len(r) != 1 {
		t.Fatalf("rotateIfDue at the period = %v, %v; want one new key", r, err)
	}
	k2 := r[0].ID
	if want := rotatedAt.Add(24 * time.Hour); !r[0].ActiveAt.Equal(want) {
		t.Errorf("ActiveAt = %v, want %v (the lead time)", r[0].ActiveAt, want)
	}
	if want := r[0].ActiveAt.Add(time.Hour + time.Minute + clockSkew); !r[0].RetireAt.Equal(want) {
		t.Errorf("RetireAt = %v, want %v (ActiveAt + ID token lifetime + cache TTL + skew)", r[0].RetireAt, want)
	}

	both := []string{k1, k2}
	slices.Sort(both)
	steps := []struct {
		name     string
		at       time.Time
		wantSign string
		wantJWKS []string
	}{
		{"just rotated", rotatedAt, k1, nil}, // b's JWKS may still lack k2; checked below
		{"after the cache TTL", rotatedAt.Add(time.Minute), k1, both},
		{"just before ActiveAt", r[0].ActiveAt.Add(-time.Second), k1, both},
		{"at ActiveAt", r[0].ActiveAt, k2, both},
		{"just before RetireAt", r[0].RetireAt.Add(-time.Second), k2, both},
		{"at RetireAt", r[0].RetireAt, k2, []string{k2}},
	}
	for _, s := range steps {
		clock.set(s.at)
		for name, inst := range map[string]*keys{"a": a, "b": b} {
			if got := signingKID(t, inst); got != s.wantSign {
				t.Errorf("%s: instance %s signs with %s, want %s", s.name, name, got, s.wantSign)
			}
			if s.wantJWKS != nil && !slices.Equal(kids(t, inst), s.wantJWKS) {
				t.Errorf("%s: instance %s publishes %v, want %v", s.name, name, kids(t, inst), s.wantJWKS)
			}
			// No instance signs with a key that any instance leaves out of JWKS.
			for other, o := range map[string]*keys{"a": a, "b": b} {
				if !slices.Contains(kids(t, o), signingKID(t, inst)) {
					t.Errorf("%s: instance %s signs with %s, absent from instance %s's JWKS %v", s.name, name, signingKID(t, inst), other, kids(t, o))
				}
			}
		}
	}

	// The retired key is deleted from the store; the new one is not due for rotation yet.
	if r, err := b.rotateIfDue(t.Context(), cfg); err != nil || len(r) != 0 {
		t.Fatalf("rotateIfDue after retirement = %v, %v; want nothing", r, err)
	}
	all, err := store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != k2 {
		t.Fatalf("stored keys after retirement = %v, want only %s", all, k2)
	}
}

// TestRotationRace: several instances find the key due at once; exactly one new key is made
// and they all sign with it from its ActiveAt.
func TestRotationRace(t *testing.T) {
	store := openSQLite(t)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: start}
	cfg := rotationConfig(clock)
	insts := make([]*keys, 6)
	for i := range insts {
		insts[i] = &keys{store: store, now: clock.now, ttl: cfg.KeyCacheTTL}
		if err := insts[i].ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	clock.set(start.Add(31 * 24 * time.Hour))
	var wg sync.WaitGroup
	created := make([][]RotatedKey, len(insts))
	errs := make([]error, len(insts))
	for i, k := range insts {
		wg.Go(func() { created[i], errs[i] = k.rotateIfDue(t.Context(), cfg) })
	}
	wg.Wait()
	n := 0
	for i := range insts {
		if errs[i] != nil {
			t.Errorf("instance %d: %v", i, errs[i])
		}
		n += len(created[i])
	}
	all, err := store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(all) != 2 {
		t.Fatalf("%d instances rotating at once created %d keys (%d stored), want exactly 1 new", len(insts), n, len(all))
	}
	clock.set(all[0].ActiveAt)
	for i, k := range insts {
		if got := signingKID(t, k); got != all[0].ID {
			t.Errorf("instance %d signs with %s, want the new key %s", i, got, all[0].ID)
		}
	}
}

func TestRotateSigningKey(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("now signs at once", func(t *testing.T) {
		store := openSQLite(t)
		clock := &testClock{t: start}
		cfg := rotationConfig(clock)
		k := &keys{store: store, now: clock.now, ttl: cfg.KeyCacheTTL}
		if err := k.ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		k1 := signingKID(t, k)
		r, err := RotateSigningKey(t.Context(), store, cfg, "RS256", true)
		if err != nil {
			t.Fatal(err)
		}
		if !r.ActiveAt.Equal(start) {
			t.Errorf("ActiveAt = %v, want now", r.ActiveAt)
		}
		// This instance read the list before: it follows within the cache TTL.
		if got := signingKID(t, k); got != k1 {
			t.Errorf("within the cache TTL the instance signs with %s, want its cached %s", got, k1)
		}
		clock.set(start.Add(time.Minute))
		if got := signingKID(t, k); got != r.ID {
			t.Errorf("after the cache TTL the instance signs with %s, want %s", got, r.ID)
		}
		if got := kids(t, k); !slices.Contains(got, k1) {
			t.Errorf("JWKS %v lost the old key %s: tokens it signed would fail", got, k1)
		}
	})
	t.Run("lead time is at least the key cache TTL", func(t *testing.T) {
		store := openSQLite(t)
		clock := &testClock{t: start}
		cfg := Config{Now: clock.now, KeyCacheTTL: 10 * time.Minute, KeyLeadTime: time.Second}
		// The first key signs at once; the second waits for the lead time.
		for _, want := range []time.Duration{0, 10 * time.Minute} {
			r, err := RotateSigningKey(t.Context(), store, cfg, "RS256", false)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.ActiveAt.Sub(start); got != want {
				t.Errorf("lead time = %v, want %v", got, want)
			}
		}
	})
	t.Run("taken generation", func(t *testing.T) {
		store := openSQLite(t)
		clock := &testClock{t: start}
		cfg := rotationConfig(clock)
		first, err := newSigningKey("RS256", 1, start)
		if err != nil {
			t.Fatal(err)
		}
		// A concurrent rotation that listed the keys before this one stored its own.
		next, _ := newSigningKey("RS256", 2, start)
		if err := store.CreateSigningKey(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateSigningKey(t.Context(), next); err != nil {
			t.Fatal(err)
		}
		_, err = rotate(t.Context(), racingList{store, []storage.SigningKey{first}}, cfg, "RS256", start, false)
		if !errors.Is(err, ErrAlreadyRotated) {
			t.Fatalf("rotate onto a taken generation: %v, want ErrAlreadyRotated", err)
		}
	})
	t.Run("unknown algorithm", func(t *testing.T) {
		store := openSQLite(t)
		if _, err := RotateSigningKey(t.Context(), store, Config{}, "HS256", false); err == nil {
			t.Fatal("RotateSigningKey HS256 succeeded; want a refusal")
		}
	})
	t.Run("schedule off", func(t *testing.T) {
		store := openSQLite(t)
		clock := &testClock{t: start}
		cfg := rotationConfig(clock)
		cfg.KeyRotation = -1
		k := &keys{store: store, now: clock.now, ttl: cfg.KeyCacheTTL}
		if err := k.ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		clock.set(start.Add(10 * 365 * 24 * time.Hour))
		if r, err := k.rotateIfDue(t.Context(), cfg); err != nil || len(r) != 0 {
			t.Fatalf("rotateIfDue with the schedule off = %v, %v; want nothing", r, err)
		}
	})
}

// racingList is a store whose key list is stale, as it is for an instance that lost a race.
type racingList struct {
	storage.Storage
	list []storage.SigningKey
}

func (r racingList) ListSigningKeys(context.Context) ([]storage.SigningKey, error) {
	return r.list, nil
}
