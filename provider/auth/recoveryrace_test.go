package auth

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const wrongRecoveryCode = "0000-0000-0000-0000"

// TestRecoveryChecksCannotOvershoot: 20 wrong recovery codes at once, one under the limit:
// exactly one is checked and counted, the others are refused unchecked, so the run stops at
// the limit and no code is checked beyond it.
func TestRecoveryChecksCannotOvershoot(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e, u, codes := resetEnvOn(t, newEnv(func(c *Config) { c.Limits.RecoveryMaxFailures = 5 }))
		ctx := t.Context()
		f := storage.Flow{UserID: u.ID, Phone: testPhone}
		for range 4 {
			if ok, err := e.a.checkRecoveryCode(ctx, f, wrongRecoveryCode, "login"); ok || err != nil {
				t.Fatalf("wrong code under the limit: %v, %v", ok, err)
			}
		}
		var (
			wg               sync.WaitGroup
			mu               sync.Mutex
			checked, refused int
		)
		for range 20 {
			wg.Go(func() {
				ok, err := e.a.checkRecoveryCode(ctx, f, wrongRecoveryCode, "login")
				var le *LimitError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case ok:
					t.Error("a wrong recovery code was accepted")
				case err == nil:
					checked++
				case errors.As(err, &le) && le.Scope == ScopeRecovery:
					refused++
				default:
					t.Errorf("checkRecoveryCode: %v", err)
				}
			})
		}
		wg.Wait()
		if checked != 1 || refused != 19 {
			t.Fatalf("20 wrong codes at limit-1: %d checked, %d refused; want 1 and 19", checked, refused)
		}
		run, err := e.store.GetFailures(ctx, u.ID, FactorRecovery)
		if err != nil || run.Count != 5 {
			t.Fatalf("run = %+v, %v; want 5 wrong codes", run, err)
		}
		// Locked: even the right code is not checked, nor spent.
		var le *LimitError
		if _, err := e.a.checkRecoveryCode(ctx, f, codes[0], "login"); !errors.As(err, &le) || le.RetryAfter != 12*time.Hour {
			t.Fatalf("right code at the limit: %v", err)
		}
	})
}

// TestRecoveryCheckClaim: a finished check releases the run at once (wrong codes one after the
// other, at one instant, are each checked); a check that never finished (its instance died)
// keeps the next one waiting only until its hold ends.
func TestRecoveryCheckClaim(t *testing.T) {
	e, u, codes := resetEnv(t, func(c *Config) { c.Limits.RecoveryMaxFailures = 5 })
	ctx := t.Context()
	f := storage.Flow{UserID: u.ID, Phone: testPhone}
	for i := range 4 {
		if ok, err := e.a.checkRecoveryCode(ctx, f, wrongRecoveryCode, "login"); ok || err != nil {
			t.Fatalf("wrong code %d at one instant: %v, %v", i+1, ok, err)
		}
	}
	// A check claims the run and dies before it ends.
	if _, err := e.a.claimRecoveryCheck(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if _, err := e.a.checkRecoveryCode(ctx, f, codes[0], "login"); !errors.As(err, &le) || le.Scope != ScopeRecovery || le.RetryAfter != time.Second {
		t.Fatalf("check while another holds the run: %v, want a 1 s wait", err)
	}
	if n, _ := e.a.RecoveryCodesLeft(ctx, u.ID); n != 10 {
		t.Fatalf("RecoveryCodesLeft = %d: a refused check spent a code", n)
	}
	e.clock.Advance(recoveryCheckHold)
	if ok, err := e.a.checkRecoveryCode(ctx, f, codes[0], "login"); !ok || err != nil {
		t.Fatalf("right code after the dead check's hold: %v, %v", ok, err)
	}
	if run, _ := e.store.GetFailures(ctx, u.ID, FactorRecovery); run != (storage.Failures{}) {
		t.Fatalf("the right code left the run %+v", run)
	}
}
