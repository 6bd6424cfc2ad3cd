package main

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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

// TestCollectOnceAuditRetention: one GC pass deletes the audit events older than the
// retention, keeps the rest, and keeps everything with "off".
func TestCollectOnceAuditRetention(t *testing.T) {
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		setting string
		want    []string
	}{
		{"", []string{"399d"}},               // the default, 400 days
		{"30d", nil},                         // both are older
		{"off", []string{"401d", "399d"}},    // forever
		{"10000h", []string{"401d", "399d"}}, // 416 days
	} {
		t.Run(tc.setting, func(t *testing.T) {
			inTempDir(t)
			env := map[string]string{}
			if tc.setting != "" {
				env["OTPIDP_AUDIT_RETENTION"] = tc.setting
			}
			cfg, err := loadConfig(nil, mapEnv(env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			if err := store.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, days := range []int{401, 399} {
				e := storage.AuditEvent{At: now.Add(-time.Duration(days) * 24 * time.Hour), Event: "code.sent", Detail: strconv.Itoa(days) + "d"}
				if err := store.AppendAudit(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			collectOnce(t.Context(), deps{cfg: cfg, store: store, logger: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return now }})
			events, err := store.ListAudit(t.Context(), storage.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, e := range events {
				left = append(left, e.Detail)
			}
			if !slices.Equal(left, tc.want) {
				t.Fatalf("events left %v, want %v", left, tc.want)
			}
		})
	}
}

func TestAuditRetentionRefusals(t *testing.T) {
	for _, v := range []string{"0d", "12h", "forever", "-5d", "1.5d", "36500000d"} {
		t.Run(v, func(t *testing.T) {
			inTempDir(t)
			_, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_AUDIT_RETENTION": v}), io.Discard)
			var ce *configError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "OTPIDP_AUDIT_RETENTION") {
				t.Fatalf("OTPIDP_AUDIT_RETENTION=%q: err = %v, want a configuration error naming it", v, err)
			}
		})
	}
}
