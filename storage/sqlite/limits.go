package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// errRefused rolls a Take back when a limit refuses.
var errRefused = errors.New("refused")

const takeCounter = `
INSERT INTO rate_counters (key, window_start, window_end, count) VALUES (?1, ?2, ?3, 1)
ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
    WHERE rate_counters.count < ?4
RETURNING count`

const selectCounter = `SELECT count FROM rate_counters WHERE key = ? AND window_start = ?`

// activeLimits returns the limits that limit something, in key order (the order locks are
// taken in), with their index in the caller's order.
func activeLimits(limits []storage.Limit) []int {
	var idx []int
	for i, l := range limits {
		if l.Max > 0 && l.Window > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return limits[idx[a]].Key < limits[idx[b]].Key })
	return idx
}

// Take counts one event against every limit, all or nothing.
func (s *Store) Take(ctx context.Context, now time.Time, limits ...storage.Limit) (*storage.Refusal, error) {
	var refusal *storage.Refusal
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		first := -1
		counts := map[int]int{}
		for _, i := range activeLimits(limits) {
			l := limits[i]
			start := storage.WindowStart(now, l.Window)
			var n int
			err := tx.QueryRowContext(ctx, takeCounter, l.Key, timeArg(start), timeArg(start.Add(l.Window)), l.Max).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				if err := tx.QueryRowContext(ctx, selectCounter, l.Key, timeArg(start)).Scan(&n); err != nil {
					return err
				}
				counts[i] = n
				if first < 0 || i < first {
					first = i
				}
				continue
			}
			if err != nil {
				return err
			}
		}
		if first >= 0 {
			l := limits[first]
			start := storage.WindowStart(now, l.Window)
			refusal = &storage.Refusal{Limit: l, Count: counts[first], ResetAt: start.Add(l.Window)}
			return errRefused
		}
		return nil
	})
	if refusal != nil {
		return refusal, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: take: %w", err)
	}
	return nil, nil
}

const untakeCounter = `UPDATE rate_counters SET count = count - 1 WHERE key = ? AND window_start = ? AND count > 0`

// Untake gives back one event in the window of now.
func (s *Store) Untake(ctx context.Context, now time.Time, limits ...storage.Limit) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, i := range activeLimits(limits) {
			l := limits[i]
			if _, err := tx.ExecContext(ctx, untakeCounter, l.Key, timeArg(storage.WindowStart(now, l.Window))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: untake: %w", err)
	}
	return nil
}

// Count returns the count of the limit's key in the window of now.
func (s *Store) Count(ctx context.Context, l storage.Limit, now time.Time) (int, error) {
	if l.Window <= 0 {
		return 0, errors.New("sqlite: count: the window must be positive")
	}
	var n int
	err := s.r.QueryRowContext(ctx, selectCounter, l.Key, timeArg(storage.WindowStart(now, l.Window))).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	return n, nil
}

// ResetCounter deletes every window of the key.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM rate_counters WHERE key = ?`, key); err != nil {
		return fmt.Errorf("sqlite: reset counter: %w", err)
	}
	return nil
}

// PruneCounters deletes the windows that ended at or before now.
func (s *Store) PruneCounters(ctx context.Context, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM rate_counters WHERE window_end <= ?`, timeArg(now)); err != nil {
		return fmt.Errorf("sqlite: prune counters: %w", err)
	}
	return nil
}

const selectFailures = `SELECT count, last_failure_at, blocked_until FROM auth_failures WHERE subject = ? AND factor = ?`

// GetFailures returns the failure run; the zero Failures when there is none.
func (s *Store) GetFailures(ctx context.Context, subject, factor string) (storage.Failures, error) {
	var f storage.Failures
	err := s.r.QueryRowContext(ctx, selectFailures, subject, factor).Scan(&f.Count, timeCol(&f.LastFailureAt), timeCol(&f.BlockedUntil))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Failures{}, nil
	}
	if err != nil {
		return storage.Failures{}, fmt.Errorf("sqlite: get failures: %w", err)
	}
	return f, nil
}

const claimAttempt = `
INSERT INTO auth_failures (subject, factor, count, last_failure_at, blocked_until)
VALUES (?1, ?2, 0, NULL, ?3)
ON CONFLICT (subject, factor) DO UPDATE SET blocked_until = excluded.blocked_until
    WHERE auth_failures.count = ?4
        AND (auth_failures.blocked_until IS NULL OR auth_failures.blocked_until <= ?5)
RETURNING count`

// ClaimAttempt lets one attempt start where the run is unchanged and unblocked.
func (s *Store) ClaimAttempt(ctx context.Context, subject, factor string, seen storage.Failures, until, now time.Time) error {
	var n int
	err := s.w.QueryRowContext(ctx, claimAttempt, subject, factor, timeArg(until), seen.Count, timeArg(now)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: claim attempt: %w", storage.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: claim attempt: %w", err)
	}
	return nil
}

const recordFailure = `
INSERT INTO auth_failures (subject, factor, count, last_failure_at, blocked_until)
VALUES (?1, ?2, 1, ?3, NULL)
ON CONFLICT (subject, factor) DO UPDATE SET
    count = CASE WHEN ?4 IS NULL OR auth_failures.last_failure_at IS NULL OR auth_failures.last_failure_at > ?4
        THEN auth_failures.count + 1 ELSE 1 END,
    last_failure_at = excluded.last_failure_at
RETURNING count`

// RecordFailure adds one failure and returns the new count.
func (s *Store) RecordFailure(ctx context.Context, subject, factor string, now, resetBefore time.Time) (int, error) {
	var n int
	if err := s.w.QueryRowContext(ctx, recordFailure, subject, factor, timeArg(now), timeArg(resetBefore)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: record failure: %w", err)
	}
	return n, nil
}

// ResetFailures ends the run.
func (s *Store) ResetFailures(ctx context.Context, subject, factor string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM auth_failures WHERE subject = ? AND factor = ?`, subject, factor); err != nil {
		return fmt.Errorf("sqlite: reset failures: %w", err)
	}
	return nil
}

const pruneFailures = `
DELETE FROM auth_failures WHERE factor = ?1
    AND (last_failure_at IS NULL OR last_failure_at <= ?2)
    AND (blocked_until IS NULL OR blocked_until <= ?3)`

// PruneFailures deletes the factor's runs that ended before before and are not blocked at now.
func (s *Store) PruneFailures(ctx context.Context, factor string, before, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, pruneFailures, factor, timeArg(before), timeArg(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune failures: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune failures: %w", err)
	}
	return n, nil
}

const setSwitch = `
INSERT INTO switches (name, is_on, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET is_on = excluded.is_on, updated_at = excluded.updated_at`

// SetSwitch records an operator switch.
func (s *Store) SetSwitch(ctx context.Context, name string, on bool, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, setSwitch, name, boolArg(on), timeArg(now)); err != nil {
		return fmt.Errorf("sqlite: set switch %q: %w", name, err)
	}
	return nil
}

// Switch reports whether the switch is on.
func (s *Store) Switch(ctx context.Context, name string) (bool, error) {
	var on int64
	err := s.r.QueryRowContext(ctx, `SELECT is_on FROM switches WHERE name = ?`, name).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: switch %q: %w", name, err)
	}
	return on != 0, nil
}
