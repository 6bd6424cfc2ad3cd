package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

// errRefused rolls a Take back when a limit refuses.
var errRefused = errors.New("refused")

// A Take is one upsert per key; ON CONFLICT … WHERE leaves a full counter unchanged (and
// returns no row), under the row lock the upsert takes, so concurrent takes on any number of
// instances count exactly.
const sqlTakeCounter = `INSERT INTO rate_counters (key, window_start, window_end, count)
    VALUES ($1, $2, $3, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
        WHERE rate_counters.count < $4
    RETURNING count`

const sqlSelectCounter = `SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2`

// activeLimits returns the indexes of the limits that limit something, in key order: every
// transaction locks counters in that one order, so two takes cannot deadlock.
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
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlCountersAsync); err != nil {
			return err
		}
		first, firstCount := -1, 0
		for _, i := range activeLimits(limits) {
			l := limits[i]
			start := storage.WindowStart(now, l.Window)
			var n int32
			err := tx.QueryRow(ctx, sqlTakeCounter, l.Key, ts(start), ts(start.Add(l.Window)), l.Max).Scan(&n)
			if errNoRows(err) {
				if err := tx.QueryRow(ctx, sqlSelectCounter, l.Key, ts(start)).Scan(&n); err != nil {
					return err
				}
				if first < 0 || i < first {
					first, firstCount = i, int(n)
				}
				continue
			}
			if err != nil {
				return err
			}
		}
		if first >= 0 {
			l := limits[first]
			refusal = &storage.Refusal{Limit: l, Count: firstCount, ResetAt: storage.WindowStart(now, l.Window).Add(l.Window)}
			return errRefused
		}
		return nil
	})
	if refusal != nil {
		return refusal, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: take: %w", mapErr(err))
	}
	return nil, nil
}

// sqlCountersAsync lets a counter transaction commit without waiting for its WAL flush. Rate
// counters are updated on every sign-in and on every token, introspection and revocation
// request; waiting for an fsync each time made a counted introspection eight times slower.
// A crash can lose the increments of the last fraction of a second (the counts come out a
// little low), never a registration, code or token: those transactions keep
// synchronous_commit on (REL-11).
const sqlCountersAsync = `SET LOCAL synchronous_commit = off`

const sqlUntakeCounter = `UPDATE rate_counters SET count = count - 1
    WHERE key = $1 AND window_start = $2 AND count > 0`

// Untake gives back one event in the window of now.
func (s *Store) Untake(ctx context.Context, now time.Time, limits ...storage.Limit) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlCountersAsync); err != nil {
			return err
		}
		for _, i := range activeLimits(limits) {
			l := limits[i]
			if _, err := tx.Exec(ctx, sqlUntakeCounter, l.Key, ts(storage.WindowStart(now, l.Window))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: untake: %w", mapErr(err))
	}
	return nil
}

// Count returns the count of the limit's key in the window of now.
func (s *Store) Count(ctx context.Context, l storage.Limit, now time.Time) (int, error) {
	if l.Window <= 0 {
		return 0, errors.New("postgres: count: the window must be positive")
	}
	var n int32
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, sqlSelectCounter, l.Key, ts(storage.WindowStart(now, l.Window))).Scan(&n)
	})
	if errNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: count: %w", mapErr(err))
	}
	return int(n), nil
}

// ResetCounter deletes every window of the key.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	return s.exec(ctx, "reset counter", `DELETE FROM rate_counters WHERE key = $1`, key)
}

// PruneCounters deletes the windows that ended at or before now.
func (s *Store) PruneCounters(ctx context.Context, now time.Time) error {
	return s.exec(ctx, "prune counters", `DELETE FROM rate_counters WHERE window_end <= $1`, ts(now))
}

func (s *Store) exec(ctx context.Context, what, query string, args ...any) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, mapErr(err))
	}
	return nil
}

const sqlSelectFailures = `SELECT count, last_failure_at, blocked_until FROM auth_failures
    WHERE subject = $1 AND factor = $2`

// GetFailures returns the failure run; the zero Failures when there is none.
func (s *Store) GetFailures(ctx context.Context, subject, factor string) (storage.Failures, error) {
	var (
		n           int32
		last, until pgtype.Timestamptz
	)
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, sqlSelectFailures, subject, factor).Scan(&n, &last, &until)
	})
	if errNoRows(err) {
		return storage.Failures{}, nil
	}
	if err != nil {
		return storage.Failures{}, fmt.Errorf("postgres: get failures: %w", mapErr(err))
	}
	return storage.Failures{Count: int(n), LastFailureAt: tm(last), BlockedUntil: tm(until)}, nil
}

const sqlClaimAttempt = `INSERT INTO auth_failures (subject, factor, count, last_failure_at, blocked_until)
    VALUES ($1, $2, 0, NULL, $3)
    ON CONFLICT (subject, factor) DO UPDATE SET blocked_until = excluded.blocked_until
        WHERE auth_failures.count = $4
            AND (auth_failures.blocked_until IS NULL OR auth_failures.blocked_until <= $5)
    RETURNING count`

// ClaimAttempt lets one attempt start where the run is unchanged and unblocked.
func (s *Store) ClaimAttempt(ctx context.Context, subject, factor string, seen storage.Failures, until, now time.Time) error {
	var n int32
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, sqlClaimAttempt, subject, factor, ts(until), seen.Count, ts(now)).Scan(&n)
	})
	if errNoRows(err) {
		return fmt.Errorf("postgres: claim attempt: %w", storage.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: claim attempt: %w", mapErr(err))
	}
	return nil
}

const sqlRecordFailure = `INSERT INTO auth_failures (subject, factor, count, last_failure_at, blocked_until)
    VALUES ($1, $2, 1, $3, NULL)
    ON CONFLICT (subject, factor) DO UPDATE SET
        count = CASE WHEN $4::timestamptz IS NULL OR auth_failures.last_failure_at IS NULL OR auth_failures.last_failure_at > $4
            THEN auth_failures.count + 1 ELSE 1 END,
        last_failure_at = excluded.last_failure_at
    RETURNING count`

// RecordFailure adds one failure and returns the new count.
func (s *Store) RecordFailure(ctx context.Context, subject, factor string, now, resetBefore time.Time) (int, error) {
	var n int32
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, sqlRecordFailure, subject, factor, ts(now), ts(resetBefore)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: record failure: %w", mapErr(err))
	}
	return int(n), nil
}

// ResetFailures ends the run.
func (s *Store) ResetFailures(ctx context.Context, subject, factor string) error {
	return s.exec(ctx, "reset failures", `DELETE FROM auth_failures WHERE subject = $1 AND factor = $2`, subject, factor)
}

const sqlPruneFailures = `DELETE FROM auth_failures WHERE factor = $1
    AND (last_failure_at IS NULL OR last_failure_at <= $2)
    AND (blocked_until IS NULL OR blocked_until <= $3)`

// PruneFailures deletes the factor's runs that ended before before and are not blocked at now.
func (s *Store) PruneFailures(ctx context.Context, factor string, before, now time.Time) (int64, error) {
	var n int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlPruneFailures, factor, ts(before), ts(now))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: prune failures: %w", mapErr(err))
	}
	return n, nil
}

// SetSwitch records an operator switch.
func (s *Store) SetSwitch(ctx context.Context, name string, on bool, now time.Time) error {
	return s.exec(ctx, "set switch", `INSERT INTO switches (name, is_on, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE SET is_on = excluded.is_on, updated_at = excluded.updated_at`, name, on, ts(now))
}

// Switch reports whether the switch is on.
func (s *Store) Switch(ctx context.Context, name string) (bool, error) {
	var on bool
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT is_on FROM switches WHERE name = $1`, name).Scan(&on)
	})
	if errNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: switch: %w", mapErr(err))
	}
	return on, nil
}
