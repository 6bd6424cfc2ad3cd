package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func outboxTests() []subtest {
	return []subtest{
		{"OutboxEnqueueAndGet", testOutboxEnqueueAndGet},
		{"OutboxClaimDueOnly", testOutboxClaimDueOnly},
		{"OutboxFinish", testOutboxFinish},
		{"OutboxRetry", testOutboxRetry},
		{"OutboxLeaseExpiry", testOutboxLeaseExpiry},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"OutboxGC", testOutboxGC},
	}
}

func outboxMsg(id, kind string, created time.Duration) storage.OutboxMessage {
	return storage.OutboxMessage{ID: id, Kind: kind, Payload: []byte("sealed:" + id), CreatedAt: at(created), NextAttemptAt: at(created)}
}

func testOutboxEnqueueAndGet(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	m := outboxMsg("m1", "sms", 0)
	m.ExpiresAt = at(5 * time.Minute)
	m.State, m.Attempts, m.LeaseOwner, m.LastError = storage.OutboxSent, 7, "someone", "ignored"
	mustOK(t, "enqueue", s.EnqueueOutbox(ctx, m))
	wantErr(t, "enqueue again", s.EnqueueOutbox(ctx, m), storage.ErrAlreadyExists)
	got, err := s.GetOutbox(ctx, "m1")
	mustOK(t, "get", err)
	same(t, "message", storage.OutboxMessage{
		ID: "m1", Kind: "sms", Payload: []byte("sealed:m1"), State: storage.OutboxPending,
		NextAttemptAt: at(0), ExpiresAt: at(5 * time.Minute), CreatedAt: at(0), UpdatedAt: at(0),
	}, got)
	_, err = s.GetOutbox(ctx, "nope")
	wantErr(t, "get unknown", err, storage.ErrNotFound)
}

func testOutboxClaimDueOnly(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	later := outboxMsg("later", "sms", 0)
	later.NextAttemptAt = at(time.Minute)
	expired := outboxMsg("expired", "sms", 0)
	expired.ExpiresAt = at(10 * time.Second)
	for _, m := range []storage.OutboxMessage{outboxMsg("b", "sms", 2*time.Second), outboxMsg("a", "sms", time.Second),
		outboxMsg("other", "logout", 0), later, expired} {
		mustOK(t, "enqueue "+m.ID, s.EnqueueOutbox(ctx, m))
	}
	got, err := s.ClaimOutbox(ctx, "w1", []string{"sms"}, at(30*time.Second), at(90*time.Second), 10)
	mustOK(t, "claim", err)
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("claimed %v, want a then b (due, not expired, of kind sms)", ids(got))
	}
	want := outboxMsg("a", "sms", time.Second)
	want.State, want.Attempts, want.LeaseOwner, want.LeaseExpiresAt, want.UpdatedAt = storage.OutboxPending, 1, "w1", at(90*time.Second), at(30*time.Second)
	same(t, "claimed message", want, got[0])
	got, err = s.ClaimOutbox(ctx, "w2", []string{"sms", "logout"}, at(31*time.Second), at(91*time.Second), 10)
	mustOK(t, "claim again", err)
	if len(got) != 1 || got[0].ID != "other" {
		t.Fatalf("second claimer got %v, want only other (the rest is leased or not due)", ids(got))
	}
	got, err = s.ClaimOutbox(ctx, "w3", []string{"sms"}, at(2*time.Minute), at(3*time.Minute), 1)
	mustOK(t, "claim with limit", err)
	if len(got) != 1 {
		t.Fatalf("limit 1 claimed %v", ids(got))
	}
	got, err = s.ClaimOutbox(ctx, "w3", nil, at(2*time.Minute), at(3*time.Minute), 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("claim of no kinds: %v, %v", ids(got), err)
	}
}

func testOutboxFinish(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	mustOK(t, "enqueue", s.EnqueueOutbox(ctx, outboxMsg("m", "sms", 0)))
	wantErr(t, "finish unclaimed", s.FinishOutbox(ctx, "m", "w1", storage.OutboxSent, "", at(time.Second)), storage.ErrConflict)
	_, err := s.ClaimOutbox(ctx, "w1", []string{"sms"}, at(time.Second), at(time.Minute), 10)
	mustOK(t, "claim", err)
	wantErr(t, "finish by another", s.FinishOutbox(ctx, "m", "w2", storage.OutboxSent, "", at(2*time.Second)), storage.ErrConflict)
	wantErr(t, "finish unknown", s.FinishOutbox(ctx, "x", "w1", storage.OutboxSent, "", at(2*time.Second)), storage.ErrNotFound)
	if err := s.FinishOutbox(ctx, "m", "w1", storage.OutboxPending, "", at(2*time.Second)); err == nil {
		t.Fatal("finish as pending: no error")
	}
	mustOK(t, "finish", s.FinishOutbox(ctx, "m", "w1", storage.OutboxFailed, "undeliverable", at(2*time.Second)))
	got, err := s.GetOutbox(ctx, "m")
	mustOK(t, "get", err)
	want := outboxMsg("m", "sms", 0)
	want.Payload, want.State, want.Attempts, want.LastError, want.UpdatedAt = nil, storage.OutboxFailed, 1, "undeliverable", at(2*time.Second)
	same(t, "failed message", want, got)
	wantErr(t, "finish twice", s.FinishOutbox(ctx, "m", "w1", storage.OutboxSent, "", at(3*time.Second)), storage.ErrConflict)
	got2, err := s.ClaimOutbox(ctx, "w1", []string{"sms"}, at(time.Hour), at(2*time.Hour), 10)
	if err != nil || len(got2) != 0 {
		t.Fatalf("a settled message was claimed again: %v, %v", ids(got2), err)
	}
}

func testOutboxRetry(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	mustOK(t, "enqueue", s.EnqueueOutbox(ctx, outboxMsg("m", "sms", 0)))
	_, err := s.ClaimOutbox(ctx, "w1", []string{"sms"}, at(time.Second), at(time.Minute), 10)
	mustOK(t, "claim", err)
	wantErr(t, "retry by another", s.RetryOutbox(ctx, "m", "w2", at(10*time.Second), "x", at(2*time.Second)), storage.ErrConflict)
	mustOK(t, "retry", s.RetryOutbox(ctx, "m", "w1", at(10*time.Second), "throttled", at(2*time.Second)))
	got, err := s.GetOutbox(ctx, "m")
	mustOK(t, "get", err)
	want := outboxMsg("m", "sms", 0)
	want.NextAttemptAt, want.Attempts, want.LastError, want.UpdatedAt = at(10*time.Second), 1, "throttled", at(2*time.Second)
	want.State = storage.OutboxPending
	same(t, "message to retry", want, got)
	early, err := s.ClaimOutbox(ctx, "w2", []string{"sms"}, at(9*time.Second), at(time.Minute), 10)
	if err != nil || len(early) != 0 {
		t.Fatalf("claimed before its next attempt: %v, %v", ids(early), err)
	}
	again, err := s.ClaimOutbox(ctx, "w2", []string{"sms"}, at(10*time.Second), at(time.Minute), 10)
	mustOK(t, "claim the retry", err)
	if len(again) != 1 || again[0].Attempts != 2 || again[0].LastError != "throttled" || string(again[0].Payload) != "sealed:m" {
		t.Fatalf("retry claimed as %+v", again)
	}
}

func testOutboxLeaseExpiry(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	mustOK(t, "enqueue", s.EnqueueOutbox(ctx, outboxMsg("m", "sms", 0)))
	_, err := s.ClaimOutbox(ctx, "crashed", []string{"sms"}, at(time.Second), at(time.Minute), 10)
	mustOK(t, "claim", err)
	got, err := s.ClaimOutbox(ctx, "w2", []string{"sms"}, at(59*time.Second), at(2*time.Minute), 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("claimed within another's lease: %v, %v", ids(got), err)
	}
	got, err = s.ClaimOutbox(ctx, "w2", []string{"sms"}, at(time.Minute), at(2*time.Minute), 10)
	mustOK(t, "claim after the lease", err)
	if len(got) != 1 || got[0].LeaseOwner != "w2" || got[0].Attempts != 2 || got[0].LastError != storage.OutboxLeaseExpired {
		t.Fatalf("taken over as %+v, want owner w2, attempt 2, last error %q", got, storage.OutboxLeaseExpired)
	}
	wantErr(t, "the crashed claimer finishes late", s.FinishOutbox(ctx, "m", "crashed", storage.OutboxSent, "", at(61*time.Second)), storage.ErrConflict)
	mustOK(t, "the new owner finishes", s.FinishOutbox(ctx, "m", "w2", storage.OutboxSent, "", at(61*time.Second)))
}

// testOutboxConcurrentClaims: claimers racing over one store each get a message at most once,
// and together get every message.
func testOutboxConcurrentClaims(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	const n, workers = 40, 8
	for i := range n {
		mustOK(t, "enqueue", s.EnqueueOutbox(ctx, outboxMsg(fmt.Sprintf("m%02d", i), "sms", 0)))
	}
	var (
		mu     sync.Mutex
		owners = map[string]string{}
		dup    []string
		wg     sync.WaitGroup
	)
	for w := range workers {
		owner := fmt.Sprintf("w%d", w)
		wg.Go(func() {
			for round := 0; ; round++ {
				got, err := s.ClaimOutbox(ctx, owner, []string{"sms"}, at(time.Second), at(time.Hour), 3)
				if err != nil {
					t.Errorf("%s: claim: %v", owner, err)
					return
				}
				if len(got) == 0 && round > 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if prev, ok := owners[m.ID]; ok {
						dup = append(dup, m.ID+" by "+prev+" and "+owner)
					}
					owners[m.ID] = owner
				}
				mu.Unlock()
				for _, m := range got {
					if err := s.FinishOutbox(ctx, m.ID, owner, storage.OutboxSent, "", at(2*time.Second)); err != nil {
						t.Errorf("%s: finish %s: %v", owner, m.ID, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(dup) > 0 {
		t.Fatalf("messages claimed twice: %v", dup)
	}
	if len(owners) != n {
		t.Fatalf("%d of %d messages claimed", len(owners), n)
	}
}

func testOutboxGC(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	expiring := outboxMsg("expiring", "sms", 0)
	expiring.ExpiresAt = at(time.Minute)
	for _, m := range []storage.OutboxMessage{outboxMsg("sent", "sms", 0), outboxMsg("failed", "sms", 0),
		outboxMsg("pending", "sms", 0), expiring, outboxMsg("recent", "sms", 0)} {
		mustOK(t, "enqueue", s.EnqueueOutbox(ctx, m))
	}
	claimed, err := s.ClaimOutbox(ctx, "w", []string{"sms"}, at(time.Second), at(time.Hour), 10)
	mustOK(t, "claim", err)
	if len(claimed) != 5 {
		t.Fatalf("claimed %v", ids(claimed))
	}
	mustOK(t, "finish sent", s.FinishOutbox(ctx, "sent", "w", storage.OutboxSent, "", at(time.Hour)))
	mustOK(t, "finish failed", s.FinishOutbox(ctx, "failed", "w", storage.OutboxFailed, "undeliverable", at(time.Hour)))
	mustOK(t, "finish recent", s.FinishOutbox(ctx, "recent", "w", storage.OutboxSent, "", at(3*time.Hour)))
	mustOK(t, "give back pending", s.RetryOutbox(ctx, "pending", "w", at(time.Hour), "unavailable", at(time.Hour)))
	n, err := s.DeleteOutbox(ctx, at(2*time.Hour))
	mustOK(t, "delete", err)
	if n != 3 {
		t.Errorf("deleted %d, want 3 (sent, failed, expiring)", n)
	}
	for id, want := range map[string]error{"sent": storage.ErrNotFound, "failed": storage.ErrNotFound, "expiring": storage.ErrNotFound, "pending": nil, "recent": nil} {
		_, err := s.GetOutbox(ctx, id)
		wantErr(t, "after GC: "+id, err, want)
	}
}

func ids(ms []storage.OutboxMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
