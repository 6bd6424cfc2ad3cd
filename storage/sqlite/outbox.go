package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const outboxCols = `id, kind, payload, state, attempts, next_attempt_at, expires_at, lease_owner,
    lease_expires_at, last_error, created_at, updated_at`

func scanOutbox(sc scanner) (storage.OutboxMessage, error) {
	var m storage.OutboxMessage
	var state string
	err := sc.Scan(&m.ID, &m.Kind, &m.Payload, &state, &m.Attempts, timeCol(&m.NextAttemptAt), timeCol(&m.ExpiresAt),
		&m.LeaseOwner, timeCol(&m.LeaseExpiresAt), &m.LastError, timeCol(&m.CreatedAt), timeCol(&m.UpdatedAt))
	m.State = storage.OutboxState(state)
	return m, err
}

const insertOutbox = `INSERT INTO outbox (id, kind, payload, state, next_attempt_at, expires_at, created_at, updated_at)
VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)`

// EnqueueOutbox stores m as pending.
func (s *Store) EnqueueOutbox(ctx context.Context, m storage.OutboxMessage) error {
	next := m.NextAttemptAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	_, err := s.w.ExecContext(ctx, insertOutbox, m.ID, m.Kind, m.Payload, timeArg(next), timeArg(m.ExpiresAt),
		timeArg(m.CreatedAt), timeArg(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: enqueue outbox message: %w", insertErr(err))
	}
	return nil
}

// claimOutbox leases the due messages in one statement on the single writer connection, so
// two claimers (in this process or another one on the same file) never get the same message.
const claimOutbox = `UPDATE outbox SET attempts = attempts + 1,
    last_error = CASE WHEN lease_owner <> '' THEN 'lease_expired' ELSE last_error END,
    lease_owner = ?1, lease_expires_at = ?2, updated_at = ?3
WHERE id IN (SELECT id FROM outbox
    WHERE state = 'pending' AND kind IN (%s) AND next_attempt_at <= ?3
      AND (expires_at IS NULL OR expires_at > ?3)
      AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
    ORDER BY next_attempt_at, id LIMIT ?4)
RETURNING ` + outboxCols

// ClaimOutbox leases up to limit due messages of kinds to owner.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, kinds []string, now, leaseUntil time.Time, limit int) ([]storage.OutboxMessage, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	args := []any{owner, timeArg(leaseUntil), timeArg(now), limit}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		marks[i] = fmt.Sprintf("?%d", i+5)
		args = append(args, k)
	}
	rows, err := s.w.QueryContext(ctx, fmt.Sprintf(claimOutbox, strings.Join(marks, ", ")), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
	}
	defer rows.Close()
	var out []storage.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
	}
	slices.SortFunc(out, func(a, b storage.OutboxMessage) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

const (
	finishOutbox = `UPDATE outbox SET state = ?, last_error = ?, payload = NULL, lease_owner = '',
    lease_expires_at = NULL, updated_at = ?
WHERE id = ? AND lease_owner = ? AND lease_owner <> '' AND state = 'pending'`
	retryOutbox = `UPDATE outbox SET next_attempt_at = ?, last_error = ?, lease_owner = '',
    lease_expires_at = NULL, updated_at = ?
WHERE id = ? AND lease_owner = ? AND lease_owner <> '' AND state = 'pending'`
	outboxExists = `SELECT EXISTS (SELECT 1 FROM outbox WHERE id = ?)`
)

// FinishOutbox settles a message owner holds.
func (s *Store) FinishOutbox(ctx context.Context, id, owner string, state storage.OutboxState, lastError string, now time.Time) error {
	if state != storage.OutboxSent && state != storage.OutboxFailed {
		return fmt.Errorf("sqlite: finish outbox message: state %q is not sent or failed", state)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, finishOutbox, string(state), lastError, timeArg(now), id, owner)
		return settled(ctx, tx, res, err, id)
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish outbox message: %w", err)
	}
	return nil
}

// RetryOutbox gives a message owner holds back for another attempt at next.
func (s *Store) RetryOutbox(ctx context.Context, id, owner string, next time.Time, lastError string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, retryOutbox, timeArg(next), lastError, timeArg(now), id, owner)
		return settled(ctx, tx, res, err, id)
	})
	if err != nil {
		return fmt.Errorf("sqlite: retry outbox message: %w", err)
	}
	return nil
}

// settled maps the result of a conditional update of a message: nothing changed is
// ErrConflict when the message exists, ErrNotFound when it does not.
func settled(ctx context.Context, tx *sql.Tx, res sql.Result, err error, id string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	return conflictOrNotFound(ctx, tx, outboxExists, id)
}

// GetOutbox returns the message.
func (s *Store) GetOutbox(ctx context.Context, id string) (storage.OutboxMessage, error) {
	m, err := scanOutbox(s.r.QueryRowContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id))
	if err != nil {
		return storage.OutboxMessage{}, fmt.Errorf("sqlite: get outbox message: %w", getErr(err))
	}
	return m, nil
}

const deleteOutbox = `DELETE FROM outbox
WHERE (state IN ('sent', 'failed') AND updated_at < ?1) OR (expires_at IS NOT NULL AND expires_at < ?1)`

// DeleteOutbox deletes the settled messages last updated before before, and the expired ones.
func (s *Store) DeleteOutbox(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, deleteOutbox, timeArg(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete outbox messages: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete outbox messages: %w", err)
	}
	return int(n), nil
}
