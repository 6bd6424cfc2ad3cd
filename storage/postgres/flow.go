package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

// Flow IDs are bearer values held by the browser, so errors leave them out.

const flowColumns = `id, kind, auth_request_id, user_id, phone, name, password_hash, browser_hash,
    code_hash, code_expires_at, code_sent_at, code_attempts, send_count, code_used_at, created_at,
    expires_at`

type flowRow struct {
	ID            string             `db:"id"`
	Kind          string             `db:"kind"`
	AuthRequestID string             `db:"auth_request_id"`
	UserID        string             `db:"user_id"`
	Phone         string             `db:"phone"`
	Name          string             `db:"name"`
	PasswordHash  string             `db:"password_hash"`
	BrowserHash   []byte             `db:"browser_hash"`
	CodeHash      []byte             `db:"code_hash"`
	CodeExpiresAt pgtype.Timestamptz `db:"code_expires_at"`
	CodeSentAt    pgtype.Timestamptz `db:"code_sent_at"`
	CodeAttempts  int32              `db:"code_attempts"`
	SendCount     int32              `db:"send_count"`
	CodeUsedAt    pgtype.Timestamptz `db:"code_used_at"`
	CreatedAt     pgtype.Timestamptz `db:"created_at"`
	ExpiresAt     pgtype.Timestamptz `db:"expires_at"`
}

func (r flowRow) flow() storage.Flow {
	return storage.Flow{
		ID:            r.ID,
		Kind:          storage.FlowKind(r.Kind),
		AuthRequestID: r.AuthRequestID,
		UserID:        r.UserID,
		Phone:         r.Phone,
		Name:          r.Name,
		PasswordHash:  r.PasswordHash,
		BrowserHash:   r.BrowserHash,
		CodeHash:      r.CodeHash,
		CodeExpiresAt: tm(r.CodeExpiresAt),
		CodeSentAt:    tm(r.CodeSentAt),
		CodeAttempts:  int(r.CodeAttempts),
		SendCount:     int(r.SendCount),
		CodeUsedAt:    tm(r.CodeUsedAt),
		CreatedAt:     tm(r.CreatedAt),
		ExpiresAt:     tm(r.ExpiresAt),
	}
}

func queryFlow(ctx context.Context, c *pgxpool.Conn, query string, args ...any) (storage.Flow, error) {
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return storage.Flow{}, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[flowRow])
	if err != nil {
		return storage.Flow{}, err
	}
	return r.flow(), nil
}

const sqlFlowInsert = `INSERT INTO flows (` + flowColumns + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

// CreateFlow stores f: ErrAlreadyExists when its ID is taken.
func (s *Store) CreateFlow(ctx context.Context, f storage.Flow) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlFlowInsert,
			f.ID, string(f.Kind), f.AuthRequestID, f.UserID, f.Phone, f.Name, f.PasswordHash,
			f.BrowserHash, f.CodeHash, ts(f.CodeExpiresAt), ts(f.CodeSentAt), f.CodeAttempts,
			f.SendCount, ts(f.CodeUsedAt), ts(f.CreatedAt), ts(f.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create flow: %w", mapErr(err))
	}
	return nil
}

const (
	sqlFlowGet    = `SELECT ` + flowColumns + ` FROM flows WHERE id = $1`
	sqlFlowExists = `SELECT 1 FROM flows WHERE id = $1`
)

// GetFlow returns the flow with that ID.
func (s *Store) GetFlow(ctx context.Context, id string) (storage.Flow, error) {
	var f storage.Flow
	err := s.withConn(ctx, func(c *pgxpool.Conn) (err error) {
		f, err = queryFlow(ctx, c, sqlFlowGet, id)
		return err
	})
	if err != nil {
		return storage.Flow{}, fmt.Errorf("postgres: get flow: %w", mapErr(err))
	}
	return f, nil
}

// code_sent_at IS NOT DISTINCT FROM $2: a zero prevSentAt (NULL) matches a flow that has sent
// no code yet.
const sqlFlowReplaceCode = `UPDATE flows
    SET code_hash = $3, code_expires_at = $4, code_sent_at = $5, code_attempts = 0,
        send_count = send_count + 1
    WHERE id = $1 AND code_sent_at IS NOT DISTINCT FROM $2 AND code_used_at IS NULL`

// ReplaceCode puts a new code in the flow if its CodeSentAt still equals prevSentAt and its code
// is unused: ErrConflict otherwise, ErrNotFound if the flow is absent.
func (s *Store) ReplaceCode(ctx context.Context, id string, prevSentAt time.Time, codeHash []byte, expiresAt, sentAt time.Time) error {
	if sentAt.IsZero() {
		// A NULL code_sent_at would let the next resend match "no code sent yet" again.
		return errors.New("postgres: replace code: sentAt is the zero time")
	}
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlFlowReplaceCode, id, ts(prevSentAt), codeHash, ts(expiresAt), ts(sentAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return conflictOrNotFound(ctx, c, sqlFlowExists, id)
	})
	if err != nil {
		return fmt.Errorf("postgres: replace code: %w", mapErr(err))
	}
	return nil
}

const sqlFlowWrongCode = `UPDATE flows SET code_attempts = code_attempts + 1
    WHERE id = $1 AND code_hash = $2 AND code_attempts < $3 AND code_used_at IS NULL
    RETURNING code_attempts`

// RecordWrongCode counts a wrong try against the flow's current code and returns the new count:
// ErrConflict when nothing was counted, ErrNotFound if the flow is absent.
func (s *Store) RecordWrongCode(ctx context.Context, id string, currentHash []byte, maxAttempts int) (int, error) {
	var n int32
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		err := c.QueryRow(ctx, sqlFlowWrongCode, id, currentHash, maxAttempts).Scan(&n)
		if errNoRows(err) {
			return conflictOrNotFound(ctx, c, sqlFlowExists, id)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: record wrong code: %w", mapErr(err))
	}
	return int(n), nil
}

const sqlFlowConsumeCode = `UPDATE flows SET code_used_at = $4
    WHERE id = $1 AND code_hash = $2 AND code_attempts < $3 AND code_used_at IS NULL
        AND code_expires_at > $4
    RETURNING ` + flowColumns

// ConsumeCode marks the flow's code used, exactly once, and returns the flow: ErrConflict when
// nothing matched, ErrNotFound if the flow is absent.
func (s *Store) ConsumeCode(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time) (storage.Flow, error) {
	if now.IsZero() {
		return storage.Flow{}, fmt.Errorf("postgres: consume code: %w", errZeroNow)
	}
	var f storage.Flow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		f, err = queryFlow(ctx, c, sqlFlowConsumeCode, id, codeHash, maxAttempts, ts(now))
		if errNoRows(err) {
			return conflictOrNotFound(ctx, c, sqlFlowExists, id)
		}
		return err
	})
	if err != nil {
		return storage.Flow{}, fmt.Errorf("postgres: consume code: %w", mapErr(err))
	}
	return f, nil
}

const sqlFlowConsumeCodeID = `UPDATE flows SET code_used_at = $4
    WHERE id = $1 AND code_hash = $2 AND code_attempts < $3 AND code_used_at IS NULL
        AND code_expires_at > $4
    RETURNING id`

// CompleteRegistration consumes the code as ConsumeCode does and creates u, in one transaction:
// ErrAlreadyExists, and no code spent, when u's phone (or ID) is taken.
func (s *Store) CompleteRegistration(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time, u storage.User) error {
	if now.IsZero() {
		return fmt.Errorf("postgres: complete registration: %w", errZeroNow)
	}
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		var got string
		err := tx.QueryRow(ctx, sqlFlowConsumeCodeID, id, codeHash, maxAttempts, ts(now)).Scan(&got)
		if errNoRows(err) {
			return conflictOrNotFound(ctx, tx, sqlFlowExists, id)
		}
		if err != nil {
			return err
		}
		err = insertUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: complete registration: %w", mapErr(err))
	}
	return nil
}

const sqlFlowDelete = `DELETE FROM flows WHERE id = $1`

// DeleteFlow deletes the flow; deleting an absent flow is not an error.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlFlowDelete, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete flow: %w", mapErr(err))
	}
	return nil
}
