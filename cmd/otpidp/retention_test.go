package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// TestCollectOncePrunesFailureRuns: one GC pass deletes the password and recovery-code runs
// that the failure-reset period has ended, and keeps live ones and every SMS-factor run.
func TestCollectOncePrunesFailureRuns(t *testing.T) {
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	var cfg Config
	cfg.Abuse.Auth.FailureReset = time.Hour
	d := deps{cfg: cfg, store: store, logger: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return now }}

	type run struct{ subject, factor string }
	old, fresh := now.Add(-time.Hour-time.Second), now.Add(-time.Hour+time.Second)
	runs := map[run]time.Time{
		{"phone:+15550000001", auth.FactorPassword}: old,
		{"phone:+15550000002", auth.FactorPassword}: fresh,
		{"u1", auth.FactorRecovery}:                 old,
		{"u2", auth.FactorRecovery}:                 fresh,
		{"u1", auth.FactorSMS}:                      now.Add(-1000 * time.Hour),
	}
	for r, when := range runs {
		if _, err := store.RecordFailure(t.Context(), r.subject, r.factor, when, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	collectOnce(t.Context(), d)
	for r, when := range runs {
		f, err := store.GetFailures(t.Context(), r.subject, r.factor)
		if err != nil {
			t.Fatal(err)
		}
		kept := f != (storage.Failures{})
		if want := r.factor == auth.FactorSMS || when.Equal(fresh); kept != want {
			t.Errorf("%s/%s (last failure %s ago): kept = %v, want %v", r.subject, r.factor, now.Sub(when), kept, want)
		}
	}
}
