package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func limitTests() []subtest {
	return []subtest{
		{"Limits/TakeUpToMax", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			l := storage.Limit{Key: "sms:phone:+1555", Window: time.Hour, Max: 3}
			now := at(0)
			for i := range 3 {
				r, err := s.Take(ctx, now.Add(time.Duration(i)*time.Second), l)
				mustOK(t, "Take", err)
				if r != nil {
					t.Fatalf("take %d of 3 refused: %+v", i+1, r)
				}
			}
			n, err := s.Count(ctx, l, now)
			mustOK(t, "Count", err)
			if n != 3 {
				t.Fatalf("Count = %d, want 3", n)
			}
			r, err := s.Take(ctx, now, l)
			mustOK(t, "Take", err)
			if r == nil {
				t.Fatal("the fourth take in the window was allowed")
			}
			wantReset := storage.WindowStart(now, time.Hour).Add(time.Hour)
			if r.Count != 3 || !r.ResetAt.Equal(wantReset) || r.Limit != l {
				t.Fatalf("refusal = %+v, want count 3, reset at %v", r, wantReset)
			}
			// The refused take counted nothing.
			if n, _ := s.Count(ctx, l, now); n != 3 {
				t.Fatalf("after a refusal Count = %d, want 3", n)
			}
			// The next window starts afresh.
			if r, err := s.Take(ctx, wantReset, l); err != nil || r != nil {
				t.Fatalf("take in the next window: %+v, %v", r, err)
			}
			if n, _ := s.Count(ctx, l, wantReset); n != 1 {
				t.Fatalf("next window Count = %d, want 1", n)
			}
			// Just before the window's end it is still the old window.
			if r, _ := s.Take(ctx, wantReset.Add(-time.Microsecond), l); r == nil {
				t.Fatal("a take at the last instant of a full window was allowed")
			}
		}},
		{"Limits/TakeAllOrNothing", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(0)
			roomy := storage.Limit{Key: "a", Window: time.Minute, Max: 10}
			full := storage.Limit{Key: "b", Window: time.Minute, Max: 1}
			off := storage.Limit{Key: "c", Window: time.Minute, Max: 0}
			if r, err := s.Take(ctx, now, full); err != nil || r != nil {
				t.Fatalf("first take of b: %+v %v", r, err)
			}
			r, err := s.Take(ctx, now, roomy, full, off)
			mustOK(t, "Take", err)
			if r == nil || r.Limit.Key != "b" {
				t.Fatalf("refusal = %+v, want b", r)
			}
			if n, _ := s.Count(ctx, roomy, now); n != 0 {
				t.Fatalf("a refused take counted %d against another limit", n)
			}
			// The first refusing limit in the caller's order is reported.
			mustOK(t, "ResetCounter", s.ResetCounter(ctx, "a"))
			for range 10 {
				if r, _ := s.Take(ctx, now, roomy); r != nil {
					t.Fatal("roomy refused")
				}
			}
			if r, _ := s.Take(ctx, now, full, roomy); r == nil || r.Limit.Key != "b" {
				t.Fatalf("refusal = %+v, want b (first in order)", r)
			}
			if r, _ := s.Take(ctx, now, roomy, full); r == nil || r.Limit.Key != "a" {
				t.Fatalf("refusal = %+v, want a (first in order)", r)
			}
			// A limit with Max 0 limits nothing and counts nothing.
			for range 3 {
				if r, _ := s.Take(ctx, now, off); r != nil {
					t.Fatal("a Max 0 limit refused")
				}
			}
			if n, _ := s.Count(ctx, off, now); n != 0 {
				t.Fatalf("a Max 0 limit counted %d", n)
			}
		}},
		{"Limits/UntakeResetPrune", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(0)
			l := storage.Limit{Key: "ip:192.0.2.1", Window: time.Minute, Max: 2}
			for range 2 {
				if r, _ := s.Take(ctx, now, l); r != nil {
					t.Fatal("refused")
				}
			}
			mustOK(t, "Untake", s.Untake(ctx, now, l))
			if n, _ := s.Count(ctx, l, now); n != 1 {
				t.Fatalf("after Untake Count = %d, want 1", n)
			}
			mustOK(t, "Untake", s.Untake(ctx, now, l))
			mustOK(t, "Untake", s.Untake(ctx, now, l))
			if n, _ := s.Count(ctx, l, now); n != 0 {
				t.Fatalf("Untake went below zero: %d", n)
			}
			if r, _ := s.Take(ctx, now, l); r != nil {
				t.Fatal("refused")
			}
			mustOK(t, "ResetCounter", s.ResetCounter(ctx, l.Key))
			if n, _ := s.Count(ctx, l, now); n != 0 {
				t.Fatalf("after ResetCounter Count = %d", n)
			}
			long := storage.Limit{Key: "day", Window: 24 * time.Hour, Max: 5}
			for _, x := range []storage.Limit{l, long} {
				if r, _ := s.Take(ctx, now, x); r != nil {
					t.Fatal("refused")
				}
			}
			// Pruning at the end of the minute window keeps the day's.
			mustOK(t, "PruneCounters", s.PruneCounters(ctx, storage.WindowStart(now, time.Minute).Add(time.Minute)))
			if n, _ := s.Count(ctx, l, now); n != 0 {
				t.Fatalf("an ended window survived pruning: %d", n)
			}
			if n, _ := s.Count(ctx, long, now); n != 1 {
				t.Fatalf("a live window was pruned: %d", n)
			}
		}},
		{"Limits/ConcurrentTake", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			l := storage.Limit{Key: "k", Window: time.Hour, Max: 5}
			other := storage.Limit{Key: "j", Window: time.Hour, Max: 100}
			allowed := make([]bool, 50)
			errs := race(len(allowed), func(i int) error {
				r, err := s.Take(ctx, at(0), other, l)
				allowed[i] = err == nil && r == nil
				return err
			})
			for _, err := range errs {
				mustOK(t, "Take", err)
			}
			n := 0
			for _, ok := range allowed {
				if ok {
					n++
				}
			}
			if n != 5 {
				t.Fatalf("%d of 50 concurrent takes allowed, want 5", n)
			}
			if c, _ := s.Count(ctx, other, at(0)); c != 5 {
				t.Fatalf("refused takes counted against the other limit: %d, want 5", c)
			}
		}},
		{"Limits/Failures", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			f, err := s.GetFailures(ctx, "u1", "password")
			mustOK(t, "GetFailures", err)
			if f != (storage.Failures{}) {
				t.Fatalf("no run yet: %+v", f)
			}
			for i := 1; i <= 3; i++ {
				n, err := s.RecordFailure(ctx, "u1", "password", at(time.Duration(i)*time.Minute), at(-time.Hour))
				mustOK(t, "RecordFailure", err)
				if n != i {
					t.Fatalf("RecordFailure = %d, want %d", n, i)
				}
			}
			// Another factor and another subject are separate.
			if n, _ := s.RecordFailure(ctx, "u1", "sms", at(0), at(-time.Hour)); n != 1 {
				t.Fatalf("sms run = %d, want 1", n)
			}
			if n, _ := s.RecordFailure(ctx, "u2", "password", at(0), at(-time.Hour)); n != 1 {
				t.Fatalf("u2 run = %d, want 1", n)
			}
			f, _ = s.GetFailures(ctx, "u1", "password")
			same(t, "failures", storage.Failures{Count: 3, LastFailureAt: at(3 * time.Minute)}, f)
			// A run whose last failure is at or before resetBefore starts again.
			if n, _ := s.RecordFailure(ctx, "u1", "password", at(time.Hour), at(3*time.Minute)); n != 1 {
				t.Fatalf("stale run: RecordFailure = %d, want 1", n)
			}
			// A zero resetBefore never resets the run.
			if n, _ := s.RecordFailure(ctx, "u1", "sms", at(1000*time.Hour), time.Time{}); n != 2 {
				t.Fatalf("zero resetBefore: RecordFailure = %d, want 2", n)
			}
			mustOK(t, "ResetFailures", s.ResetFailures(ctx, "u1", "password"))
			if f, _ := s.GetFailures(ctx, "u1", "password"); f.Count != 0 {
				t.Fatalf("after reset: %+v", f)
			}
			if f, _ := s.GetFailures(ctx, "u1", "sms"); f.Count != 2 {
				t.Fatalf("resetting password reset sms: %+v", f)
			}
		}},
		{"Limits/ClaimAttempt", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(0)
			// No run: the claim creates one.
			mustOK(t, "ClaimAttempt", s.ClaimAttempt(ctx, "u1", "password", storage.Failures{}, now.Add(time.Minute), now))
			f, _ := s.GetFailures(ctx, "u1", "password")
			same(t, "claimed", storage.Failures{BlockedUntil: now.Add(time.Minute)}, f)
			// Blocked until then: another claim is refused, also just before the end.
			wantErr(t, "blocked claim", s.ClaimAttempt(ctx, "u1", "password", f, now, now), storage.ErrConflict)
			wantErr(t, "blocked claim", s.ClaimAttempt(ctx, "u1", "password", f, now.Add(2*time.Minute), now.Add(time.Minute-time.Microsecond)), storage.ErrConflict)
			// At the end it may start.
			mustOK(t, "ClaimAttempt", s.ClaimAttempt(ctx, "u1", "password", f, now.Add(2*time.Minute), now.Add(time.Minute)))
			// A run that changed since it was read refuses the claim.
			_, err := s.RecordFailure(ctx, "u1", "password", now.Add(time.Minute), time.Time{})
			mustOK(t, "RecordFailure", err)
			later := now.Add(time.Hour)
			wantErr(t, "stale claim", s.ClaimAttempt(ctx, "u1", "password", f, later, later), storage.ErrConflict)
			cur, _ := s.GetFailures(ctx, "u1", "password")
			if cur.Count != 1 || !cur.BlockedUntil.Equal(now.Add(2*time.Minute)) {
				t.Fatalf("RecordFailure must keep BlockedUntil: %+v", cur)
			}
			mustOK(t, "ClaimAttempt", s.ClaimAttempt(ctx, "u1", "password", cur, later, later))
		}},
		{"Limits/ConcurrentClaim", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(0)
			for range 4 {
				_, err := s.RecordFailure(ctx, "u1", "password", now, time.Time{})
				mustOK(t, "RecordFailure", err)
			}
			seen, _ := s.GetFailures(ctx, "u1", "password")
			errs := race(30, func(int) error {
				return s.ClaimAttempt(ctx, "u1", "password", seen, now.Add(30*time.Second), now.Add(time.Second))
			})
			winners(t, "ClaimAttempt", errs, 1, storage.ErrConflict)
		}},
		{"Limits/Switch", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			on, err := s.Switch(ctx, "sms_paused")
			mustOK(t, "Switch", err)
			if on {
				t.Fatal("a switch never set is on")
			}
			mustOK(t, "SetSwitch", s.SetSwitch(ctx, "sms_paused", true, at(0)))
			if on, _ := s.Switch(ctx, "sms_paused"); !on {
				t.Fatal("switch not on")
			}
			if on, _ := s.Switch(ctx, "other"); on {
				t.Fatal("another switch is on")
			}
			mustOK(t, "SetSwitch", s.SetSwitch(ctx, "sms_paused", false, at(time.Minute)))
			if on, _ := s.Switch(ctx, "sms_paused"); on {
				t.Fatal("switch still on")
			}
		}},
		{"Audit/AppendList", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			events := []storage.AuditEvent{
				{At: at(0), Event: "password.failed", UserID: "u1", IP: "192.0.2.1", RequestID: "r1", PhoneMasked: "+1•••••••67", Detail: "wrong_password"},
				{At: at(time.Minute), Event: "code.sent", UserID: "u2", ClientID: "c1", IP: "192.0.2.2", RequestID: "r2"},
				{At: at(2 * time.Minute), Event: "code.ok", UserID: "u1", ClientID: "c1", IP: "2001:db8::1", RequestID: "r3"},
			}
			for _, e := range events {
				mustOK(t, "AppendAudit", s.AppendAudit(ctx, e))
			}
			all, err := s.ListAudit(ctx, storage.AuditQuery{})
			mustOK(t, "ListAudit", err)
			if len(all) != 3 {
				t.Fatalf("ListAudit = %d events, want 3", len(all))
			}
			for i := range all {
				if i > 0 && all[i].ID <= all[i-1].ID {
					t.Fatalf("IDs not increasing: %d then %d", all[i-1].ID, all[i].ID)
				}
				want := events[i]
				want.ID = all[i].ID
				same(t, "event", want, all[i])
			}
			u1, _ := s.ListAudit(ctx, storage.AuditQuery{UserID: "u1"})
			if len(u1) != 2 || u1[0].Event != "password.failed" || u1[1].Event != "code.ok" {
				t.Fatalf("by user: %+v", u1)
			}
			since, _ := s.ListAudit(ctx, storage.AuditQuery{Since: at(time.Minute)})
			if len(since) != 2 || since[0].Event != "code.sent" {
				t.Fatalf("since: %+v", since)
			}
			newest, _ := s.ListAudit(ctx, storage.AuditQuery{Limit: 1})
			if len(newest) != 1 || newest[0].Event != "code.ok" {
				t.Fatalf("limit 1: %+v", newest)
			}
			both, _ := s.ListAudit(ctx, storage.AuditQuery{UserID: "u1", Since: at(time.Second)})
			if len(both) != 1 || both[0].Event != "code.ok" {
				t.Fatalf("user and since: %+v", both)
			}
		}},
	}
}
