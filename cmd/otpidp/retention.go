package main

import (
	"context"
	"errors"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// collectOnce deletes what has expired or outlived its retention; each step logs its own
// error and the next one runs anyway.
func collectOnce(ctx context.Context, d deps) {
	warn := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("garbage collection: "+what, "error", err)
		}
	}
	now := d.now().UTC()
	warn("expired rows", d.store.GarbageCollect(ctx, now))
	warn("rate-limit counters", d.store.PruneCounters(ctx, now))
	warn("SMS delivery records", d.store.DeleteSMSMessages(ctx, now.Add(-smsRetention)))
	warn("client assertion IDs", d.store.DeleteExpiredAssertionIDs(ctx, now))
	warn("device authorizations", d.store.DeleteExpiredDeviceAuthorizations(ctx, now))
	warn("failure runs", pruneFailureRuns(ctx, d, now))
	warn("audit events", pruneAudit(ctx, d, now))
}

// pruneAudit deletes the audit events older than the retention (OTPIDP_AUDIT_RETENTION);
// with "off" it keeps them all.
func pruneAudit(ctx context.Context, d deps, now time.Time) error {
	r := d.cfg.auditRetention()
	if r <= 0 {
		return nil
	}
	n, err := d.store.DeleteAuditBefore(ctx, now.Add(-r))
	if n > 0 {
		d.logger.Info("audit events past their retention deleted", "count", n, "retention", r.String())
	}
	return err
}

// prunedFactors are the failure runs that end by time alone, so a run whose last failure is
// older than the failure-reset period is worth nothing and is deleted: a password run (one per
// phone number tried, known or not) and a recovery-code run. The SMS factor's run is not
// among them: time never resets it (NIST SP 800-63B §5.2.2), only a success, a recovery code
// or an operator does.
var prunedFactors = []string{auth.FactorPassword, auth.FactorRecovery}

// pruneFailureRuns deletes the failure runs of prunedFactors that time has reset.
func pruneFailureRuns(ctx context.Context, d deps, now time.Time) error {
	reset := d.cfg.Abuse.Auth.FailureReset
	if reset <= 0 {
		reset = auth.DefaultFailureReset
	}
	var errs []error
	for _, factor := range prunedFactors {
		n, err := d.store.PruneFailures(ctx, factor, now.Add(-reset), now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n > 0 {
			d.logger.Debug("failure runs pruned", "factor", factor, "count", n)
		}
	}
	return errors.Join(errs...)
}
