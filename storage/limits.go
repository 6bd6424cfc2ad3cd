package storage

import (
	"context"
	"time"
)

// Limit is one rate limit: at most Max events per fixed window of length Window for Key.
// Windows are aligned on multiples of Window since the Unix epoch, so every instance agrees on
// where a window starts.
type Limit struct {
	Key    string
	Window time.Duration
	Max    int
}

// WindowStart returns the start of the window of length w that contains now.
func WindowStart(now time.Time, w time.Duration) time.Time {
	return now.UTC().Truncate(w)
}

// Refusal says which limit refused a Take and when its window ends.
type Refusal struct {
	Limit   Limit
	Count   int       // the count in the current window
	ResetAt time.Time // the end of the current window
}

// Failures is an account's run of consecutive failures with one factor ("password", "sms").
type Failures struct {
	Count         int
	LastFailureAt time.Time // zero when Count is 0
	BlockedUntil  time.Time // no attempt may start before then; zero when not blocked
}

// LimitStore holds rate-limit counters, per-account failure runs and operator switches. Every
// change is one atomic statement (or one transaction) in the database, so any number of
// instances sharing it enforce one limit.
type LimitStore interface {
	// Take counts one event against every limit, all or nothing, in one transaction: when each
	// count is below its Max it adds one to each and returns nil; otherwise it changes nothing
	// and returns the first refusing limit (in the order given). A limit with Max <= 0 is no
	// limit and is skipped.
	Take(ctx context.Context, now time.Time, limits ...Limit) (*Refusal, error)
	// Untake gives back one event taken in the window of now (a success that should not count
	// against a failure limit). It never goes below zero.
	Untake(ctx context.Context, now time.Time, limits ...Limit) error
	// Count returns the count of the limit's key in the window of now (0 when none).
	Count(ctx context.Context, l Limit, now time.Time) (int, error)
	// ResetCounter deletes every window of the key.
	ResetCounter(ctx context.Context, key string) error
	// PruneCounters deletes the windows that ended at or before now.
	PruneCounters(ctx context.Context, now time.Time) error

	// GetFailures returns the subject's failure run for the factor; the zero Failures when
	// there is none.
	GetFailures(ctx context.Context, subject, factor string) (Failures, error)
	// ClaimAttempt lets one attempt start: where the stored run still has seen.Count failures
	// and BlockedUntil <= now (or none), it sets BlockedUntil = until (creating the row if
	// needed). ErrConflict when the run changed or is blocked: someone else claimed it.
	ClaimAttempt(ctx context.Context, subject, factor string, seen Failures, until, now time.Time) error
	// RecordFailure adds one failure at now and returns the new count. A run whose last
	// failure is at or before resetBefore starts again at 1 (a zero resetBefore never resets
	// the run). BlockedUntil is left as it is.
	RecordFailure(ctx context.Context, subject, factor string, now, resetBefore time.Time) (int, error)
	// ResetFailures ends the run (a success, or an operator restoring the factor).
	ResetFailures(ctx context.Context, subject, factor string) error
	// PruneFailures deletes the factor's runs whose last failure is at or before before (or
	// that never had one) and that are not blocked at now, and returns how many it deleted.
	// Only the factors given are touched: a run that must outlive time (the SMS factor's,
	// which time never resets) is simply never passed.
	PruneFailures(ctx context.Context, factor string, before, now time.Time) (int64, error)

	// SetSwitch records an operator switch (such as "sms_paused"), seen by every instance on
	// its next read.
	SetSwitch(ctx context.Context, name string, on bool, now time.Time) error
	// Switch reports whether the switch is on (false when never set).
	Switch(ctx context.Context, name string) (bool, error)
}
