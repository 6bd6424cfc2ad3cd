package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const outboxCols = `id, kind, payload, state, attempts, next_attempt_at, expires_at, lease_owner,
    lease_expires_at, last_error, created_at, updated_at`

type outboxRow struct {
	ID             string             `db:"id"`
	Kind           string             `db:"kind"`
	Payload        []byte             `db:"payload"`
	State          string             `db:"state"`
	Attempts       int32              `db:"attempts"`
	NextAttemptAt  pgtype.Timestamptz `db:"next_attempt_at"`
	ExpiresAt      pgtype.Timestamptz `db:"expires_at"`
	LeaseOwner     string             `db:"lease_owner"`
	LeaseExpiresAt pgtype.Timestamptz `db:"lease_expires_at"`
	LastError      string             `db:"last_error"`
	CreatedAt      pgtype.Timestamptz `db:"created_at"`
	UpdatedAt      pgtype.Timestamptz `db:"updated_at"`
}

func (r outboxRow) message() storage.OutboxMessage {
	return storage.OutboxMessage{
		ID: r.ID, Kind: r.Kind, Payload: r.Payload, State: storage.OutboxState(r.State), Attempts: int(r.Attempts),
		NextAttemptAt: tm(r.NextAttemptAt), ExpiresAt: tm(r.ExpiresAt), LeaseOwner: r.LeaseOwner,
		LeaseExpiresAt: tm(r.LeaseExpiresAt), LastError: r.LastError, CreatedAt: tm(r.CreatedAt), UpdatedAt: tm(r.UpdatedAt),
	}
}

const sqlOutboxInsert = `INSERT INTO outbox (id, kind, payload, state, next_attempt_at, expires_at, created_at, updated_at)
    VALUES ($1, $2, $3, 'pending', $4, $5, $6, $6)`

// EnqueueOutbox stores m as pending.
func (s *Store) EnqueueOutbox(ctx context.Context, m storage.OutboxMessage) error {
	next := m.NextAttemptAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlOutboxInsert, m.ID, m.Kind, m.Payload, ts(next), ts(m.ExpiresAt), ts(m.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: enqueue outbox message: %w", mapErr(err))
	}
	return nil
}

// sqlOutboxClaim leases the due messages in one statement. FOR UPDATE SKIP LOCKED makes
// concurrent claimers pass over each other's rows; the outer WHERE is checked again on the
// latest row version, so a message leased meanwhile is never taken twice.
const sqlOutboxClaim = `UPDATE outbox SET attempts = attempts + 1,
    last_error = CASE WHEN lease_owner <> '' THEN 'lease_expired' ELSE last_error END,
    lease_owner = $1, lease_expires_at = $2, updated_at = $3
WHERE id IN (SELECT id FROM outbox
    WHERE state = 'pending' AND kind = ANY($5) AND next_attempt_at <= $3
      AND (expires_at IS NULL OR expires_at > $3)
      AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
    ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
  AND state = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
RETURNING ` + outboxCols

// ClaimOutbox leases up to limit due messages of kinds to owner.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, kinds []string, now, leaseUntil time.Time, limit int) ([]storage.OutboxMessage, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	var rs []outboxRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlOutboxClaim, owner, ts(leaseUntil), ts(now), limit, kinds)
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[outboxRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim outbox: %w", mapErr(err))
	}
	out := make([]storage.OutboxMessage, len(rs))
	for i, r := range rs {
		out[i] = r.message()
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
	sqlOutboxFinish = `UPDATE outbox SET state = $1, last_error = $2, payload = NULL, lease_owner = '',
    lease_expires_at = NULL, updated_at = $3
    WHERE id = $4 AND lease_owner = $5 AND lease_owner <> '' AND state = 'pending'`
	sqlOutboxRetry = `UPDATE outbox SET next_attempt_at = $1, last_error = $2, lease_owner = '',
    lease_expires_at = NULL, updated_at = $3
    WHERE id = $4 AND lease_owner = $5 AND lease_owner <> '' AND state = 'pending'`
	sqlOutboxExists = `SELECT 1 FROM outbox WHERE id = $1`
)

// FinishOutbox settles a message owner holds.
func (s *Store) FinishOutbox(ctx context.Context, id, owner string, state storage.OutboxState, lastError string, now time.Time) error {
	if state != storage.OutboxSent && state != storage.OutboxFailed {
		return fmt.Errorf("postgres: finish outbox message: state %q is not sent or failed", state)
	}
	if err := s.settleOutbox(ctx, sqlOutboxFinish, id, string(state), lastError, ts(now), id, owner); err != nil {
		return fmt.Errorf("postgres: finish outbox message: %w", err)
	}
	return nil
}

// RetryOutbox gives a message owner holds back for another attempt at next.
func (s *Store) RetryOutbox(ctx context.Context, id, owner string, next time.Time, lastError string, now time.Time) error {
	if err := s.settleOutbox(ctx, sqlOutboxRetry, id, ts(next), lastError, ts(now), id, owner); err != nil {
		return fmt.Errorf("postgres: retry outbox message: %w", err)
	}
	return nil
}

// settleOutbox runs a conditional update of message id: nothing changed is ErrConflict when
// the message exists, ErrNotFound when it does not.
func (s *Store) settleOutbox(ctx context.Context, query, id string, args ...any) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return conflictOrNotFound(ctx, tx, sqlOutboxExists, id)
	})
	return mapErr(err)
}

// GetOutbox returns the message.
func (s *Store) GetOutbox(ctx context.Context, id string) (storage.OutboxMessage, error) {
	var r outboxRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = $1`, id)
		if err != nil {
			return err
		}
		r, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[outboxRow])
		return err
	})
	if err != nil {
		return storage.OutboxMessage{}, fmt.Errorf("postgres: get outbox message: %w", mapErr(err))
	}
	return r.message(), nil
}

const sqlOutboxDelete = `DELETE FROM outbox
    WHERE (state IN ('sent', 'failed') AND updated_at < $1) OR (expires_at IS NOT NULL AND expires_at < $1)`

// DeleteOutbox deletes the settled messages last updated before before, and the expired ones.
func (s *Store) DeleteOutbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlOutboxDelete, ts(before))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete outbox messages: %w", mapErr(err))
	}
	return int(n), nil
}
