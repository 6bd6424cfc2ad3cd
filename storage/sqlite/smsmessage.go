package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// Message keys are hashes, but errors leave them out anyway; SIDs are not secret.

const insertSMSMessage = `INSERT INTO sms_messages
    (key, provider, sid, status, status_rank, error_code, country, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// ClaimSMSMessage records m; ErrAlreadyExists when its key was claimed before.
func (s *Store) ClaimSMSMessage(ctx context.Context, m storage.SMSMessage) error {
	updated := m.UpdatedAt
	if updated.IsZero() {
		updated = m.CreatedAt
	}
	_, err := s.w.ExecContext(ctx, insertSMSMessage, m.Key, m.Provider, m.SID, m.Status,
		storage.SMSStatusRank(m.Status), m.ErrorCode, m.Country, timeArg(m.CreatedAt), timeArg(updated))
	if err != nil {
		return fmt.Errorf("sqlite: claim SMS message: %w", insertErr(err))
	}
	return nil
}

const finishSMSMessage = `UPDATE sms_messages
SET sid = ?, status = ?, status_rank = ?, error_code = ?, updated_at = ?
WHERE key = ?`

// FinishSMSMessage records the outcome of sending key.
func (s *Store) FinishSMSMessage(ctx context.Context, key, sid, status string, errorCode int, now time.Time) error {
	res, err := s.w.ExecContext(ctx, finishSMSMessage, sid, status, storage.SMSStatusRank(status), errorCode, timeArg(now), key)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: finish SMS message: %w", err)
	}
	return nil
}

const (
	updateSMSStatus = `UPDATE sms_messages
SET status = ?, status_rank = ?, error_code = ?, updated_at = ?
WHERE sid = ? AND sid <> '' AND status_rank <= ?`
	smsSIDExists = `SELECT EXISTS (SELECT 1 FROM sms_messages WHERE sid = ? AND sid <> '')`
)

// UpdateSMSStatus records a delivery report for sid, never moving a message back.
func (s *Store) UpdateSMSStatus(ctx context.Context, sid, status string, errorCode int, now time.Time) error {
	rank := storage.SMSStatusRank(status)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateSMSStatus, status, rank, errorCode, timeArg(now), sid, rank)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return conflictOrNotFound(ctx, tx, smsSIDExists, sid)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update SMS status of %s: %w", sid, err)
	}
	return nil
}

const selectSMSMessage = `SELECT key, provider, sid, status, error_code, country, created_at, updated_at
FROM sms_messages WHERE key = ?`

// GetSMSMessage returns the record of key.
func (s *Store) GetSMSMessage(ctx context.Context, key string) (storage.SMSMessage, error) {
	var m storage.SMSMessage
	err := s.r.QueryRowContext(ctx, selectSMSMessage, key).Scan(&m.Key, &m.Provider, &m.SID,
		&m.Status, &m.ErrorCode, &m.Country, timeCol(&m.CreatedAt), timeCol(&m.UpdatedAt))
	if err != nil {
		return storage.SMSMessage{}, fmt.Errorf("sqlite: get SMS message: %w", getErr(err))
	}
	return m, nil
}

const smsStats = `SELECT country, status, count(*) FROM sms_messages WHERE created_at >= ?
GROUP BY country, status ORDER BY country, status`

// SMSStats counts the messages created at or after since, by country and status.
func (s *Store) SMSStats(ctx context.Context, since time.Time) ([]storage.SMSStat, error) {
	rows, err := s.r.QueryContext(ctx, smsStats, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlite: SMS stats: %w", err)
	}
	defer rows.Close()
	var stats []storage.SMSStat
	for rows.Next() {
		var st storage.SMSStat
		if err := rows.Scan(&st.Country, &st.Status, &st.Count); err != nil {
			return nil, fmt.Errorf("sqlite: SMS stats: %w", err)
		}
		stats = append(stats, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: SMS stats: %w", err)
	}
	return stats, nil
}

const deleteSMSMessages = `DELETE FROM sms_messages WHERE created_at < ?`

// DeleteSMSMessages deletes the records created before t.
func (s *Store) DeleteSMSMessages(ctx context.Context, before time.Time) error {
	if _, err := s.w.ExecContext(ctx, deleteSMSMessages, before.UnixMicro()); err != nil {
		return fmt.Errorf("sqlite: delete SMS messages: %w", err)
	}
	return nil
}
