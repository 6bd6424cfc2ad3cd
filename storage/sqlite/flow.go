package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const flowCols = `id, kind, auth_request_id, user_id, phone, name, password_hash, browser_hash,
    code_hash, code_expires_at, code_sent_at, code_attempts, send_count, code_used_at,
    created_at, expires_at`

func scanFlow(sc scanner) (storage.Flow, error) {
	var f storage.Flow
	var kind string
	err := sc.Scan(&f.ID, &kind, &f.AuthRequestID, &f.UserID, &f.Phone, &f.Name,
		&f.PasswordHash, &f.BrowserHash, &f.CodeHash, timeCol(&f.CodeExpiresAt),
		timeCol(&f.CodeSentAt), &f.CodeAttempts, &f.SendCount, timeCol(&f.CodeUsedAt),
		timeCol(&f.CreatedAt), timeCol(&f.ExpiresAt))
	f.Kind = storage.FlowKind(kind)
	return f, err
}

const insertFlow = `INSERT INTO flows (` + flowCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateFlow stores f; ErrAlreadyExists when its ID is taken.
func (s *Store) CreateFlow(ctx context.Context, f storage.Flow) error {
	_, err := s.w.ExecContext(ctx, insertFlow, f.ID, string(f.Kind), f.AuthRequestID, f.UserID,
		f.Phone, f.Name, f.PasswordHash, f.BrowserHash, f.CodeHash, timeArg(f.CodeExpiresAt),
		timeArg(f.CodeSentAt), f.CodeAttempts, f.SendCount, timeArg(f.CodeUsedAt),
		timeArg(f.CreatedAt), timeArg(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create flow %q: %w", f.ID, insertErr(err))
	}
	return nil
}

const selectFlow = `SELECT ` + flowCols + ` FROM flows WHERE id = ?`

// GetFlow returns the flow with that ID, whatever its state.
func (s *Store) GetFlow(ctx context.Context, id string) (storage.Flow, error) {
	f, err := scanFlow(s.r.QueryRowContext(ctx, selectFlow, id))
	if err != nil {
		return storage.Flow{}, fmt.Errorf("sqlite: get flow %q: %w", id, getErr(err))
	}
	return f, nil
}

const flowExists = `SELECT EXISTS (SELECT 1 FROM flows WHERE id = ?)`

// code_sent_at IS ?: null-safe equality, so a flow that has had no code yet matches a zero
// prevSentAt.
const replaceCode = `
UPDATE flows SET code_hash = ?, code_expires_at = ?, code_sent_at = ?, code_attempts = 0,
    send_count = send_count + 1
WHERE id = ? AND code_used_at IS NULL AND code_sent_at IS ?`

// ReplaceCode puts a new code in the flow if its CodeSentAt still equals prevSentAt and its
// code is unused: ErrConflict otherwise, ErrNotFound when absent.
func (s *Store) ReplaceCode(ctx context.Context, id string, prevSentAt time.Time, codeHash []byte, expiresAt, sentAt time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, replaceCode, codeHash, timeArg(expiresAt), timeArg(sentAt),
			id, timeArg(prevSentAt))
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return conflictOrNotFound(ctx, tx, flowExists, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: replace code of flow %q: %w", id, err)
	}
	return nil
}

const recordWrongCode = `
UPDATE flows SET code_attempts = code_attempts + 1
WHERE id = ? AND code_hash = ? AND code_attempts < ? AND code_used_at IS NULL
RETURNING code_attempts`

// RecordWrongCode counts a wrong try against the flow's current code while attempts remain
// and returns the new count: ErrConflict when nothing was counted, ErrNotFound when absent.
func (s *Store) RecordWrongCode(ctx context.Context, id string, currentHash []byte, maxAttempts int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, recordWrongCode, id, currentHash, maxAttempts).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return conflictOrNotFound(ctx, tx, flowExists, id)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: record wrong code of flow %q: %w", id, err)
	}
	return n, nil
}

const consumeCode = `
UPDATE flows SET code_used_at = ?
WHERE id = ? AND code_hash = ? AND code_attempts < ? AND code_used_at IS NULL
    AND code_expires_at > ?
RETURNING ` + flowCols

// consumeCodeTx marks the flow's code used inside tx: ErrConflict when the code does not match,
// is used, out of attempts or expired; ErrNotFound when the flow is absent.
func consumeCodeTx(ctx context.Context, tx *sql.Tx, id string, codeHash []byte, maxAttempts int, now time.Time) (storage.Flow, error) {
	f, err := scanFlow(tx.QueryRowContext(ctx, consumeCode, timeArg(now), id, codeHash, maxAttempts, timeArg(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Flow{}, conflictOrNotFound(ctx, tx, flowExists, id)
	}
	return f, err
}

// ConsumeCode marks the flow's code used, exactly once, and returns the flow: ErrConflict when
// nothing matched, ErrNotFound when the flow is absent.
func (s *Store) ConsumeCode(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time) (storage.Flow, error) {
	var f storage.Flow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		f, err = consumeCodeTx(ctx, tx, id, codeHash, maxAttempts, now)
		return err
	})
	if err != nil {
		return storage.Flow{}, fmt.Errorf("sqlite: consume code of flow %q: %w", id, err)
	}
	return f, nil
}

// CompleteRegistration consumes the code as ConsumeCode does and creates u in one
// transaction. When u's phone (or ID) is taken it returns ErrAlreadyExists and the code stays
// unspent.
func (s *Store) CompleteRegistration(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time, u storage.User) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := consumeCodeTx(ctx, tx, id, codeHash, maxAttempts, now); err != nil {
			return err
		}
		return createUser(ctx, tx, u)
	})
	if err != nil {
		return fmt.Errorf("sqlite: complete registration of flow %q: %w", id, err)
	}
	return nil
}

const deleteFlow = `DELETE FROM flows WHERE id = ?`

// DeleteFlow removes the flow; deleting an absent flow is not an error.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, deleteFlow, id); err != nil {
		return fmt.Errorf("sqlite: delete flow %q: %w", id, err)
	}
	return nil
}
