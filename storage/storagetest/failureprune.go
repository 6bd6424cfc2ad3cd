package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func failurePruneTests() []subtest {
	return []subtest{
		{"Limits/PruneFailures", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			now := at(12 * time.Hour)
			before := now.Add(-12 * time.Hour) // at(0)
			record := func(subject, factor string, when time.Time) {
				t.Helper()
				if _, err := s.RecordFailure(ctx, subject, factor, when, time.Time{}); err != nil {
					t.Fatalf("RecordFailure %s/%s: %v", subject, factor, err)
				}
			}
			record("phone:+15550000001", "password", before.Add(-time.Hour))  // expired
			record("phone:+15550000002", "password", before)                  // expired at the edge
			record("phone:+15550000003", "password", before.Add(time.Second)) // live
			record("u1", "recovery", before.Add(-time.Minute))                // another factor: untouched by a password prune
			record("u1", "sms", before.Add(-100*time.Hour))                   // never passed: kept
			// A run whose last failure is old but whose claim still blocks it is kept.
			record("phone:+15550000004", "password", before.Add(-time.Hour))
			f4, err := s.GetFailures(ctx, "phone:+15550000004", "password")
			mustOK(t, "GetFailures", err)
			mustOK(t, "ClaimAttempt", s.ClaimAttempt(ctx, "phone:+15550000004", "password", f4, now.Add(time.Minute), before))
			// A claim with no failure yet, no longer blocking: pruned.
			mustOK(t, "ClaimAttempt", s.ClaimAttempt(ctx, "phone:+15550000005", "password", storage.Failures{}, now, before))

			n, err := s.PruneFailures(ctx, "password", before, now)
			mustOK(t, "PruneFailures password", err)
			if n != 3 {
				t.Fatalf("PruneFailures(password) deleted %d runs, want 3", n)
			}
			for subject, want := range map[string]int{
				"phone:+15550000001": 0, "phone:+15550000002": 0, "phone:+15550000003": 1,
				"phone:+15550000004": 1, "phone:+15550000005": 0,
			} {
				f, err := s.GetFailures(ctx, subject, "password")
				mustOK(t, "GetFailures", err)
				if f.Count != want {
					t.Errorf("%s: count %d after the prune, want %d", subject, f.Count, want)
				}
				if want == 0 && f != (storage.Failures{}) {
					t.Errorf("%s: run %+v left after the prune", subject, f)
				}
			}
			if f, _ := s.GetFailures(ctx, "u1", "recovery"); f.Count != 1 {
				t.Fatalf("the recovery run was touched by a password prune: %+v", f)
			}

			n, err = s.PruneFailures(ctx, "recovery", before, now)
			mustOK(t, "PruneFailures recovery", err)
			if f, _ := s.GetFailures(ctx, "u1", "recovery"); n != 1 || f.Count != 0 {
				t.Fatalf("recovery prune: deleted %d, run left %+v", n, f)
			}
			if f, _ := s.GetFailures(ctx, "u1", "sms"); f.Count != 1 {
				t.Fatalf("the SMS-factor run was pruned: %+v", f)
			}
			// A second prune finds nothing more.
			if n, err := s.PruneFailures(ctx, "password", before, now); err != nil || n != 0 {
				t.Fatalf("second prune: %d, %v", n, err)
			}
		}},
	}
}

func auditRetentionTests() []subtest {
	return []subtest{
		{"Audit/DeleteBefore", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			for i, d := range []time.Duration{-time.Hour, -time.Microsecond, 0, time.Hour} {
				mustOK(t, "AppendAudit", s.AppendAudit(ctx, storage.AuditEvent{At: at(d), Event: "code.sent", UserID: "u1", Detail: string(rune('a' + i))}))
			}
			n, err := s.DeleteAuditBefore(ctx, at(0))
			mustOK(t, "DeleteAuditBefore", err)
			if n != 2 {
				t.Fatalf("DeleteAuditBefore deleted %d events, want 2", n)
			}
			left, err := s.ListAudit(ctx, storage.AuditQuery{})
			mustOK(t, "ListAudit", err)
			if len(left) != 2 || left[0].Detail != "c" || left[1].Detail != "d" {
				t.Fatalf("events left: %+v, want the one at the cut and the later one", left)
			}
		}},
	}
}
