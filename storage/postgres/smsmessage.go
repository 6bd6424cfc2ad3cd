package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

// Message keys are hashes, but errors leave them out anyway; SIDs are not secret.

const sqlSMSMessageInsert = `INSERT INTO sms_messages
    (key, provider, sid, status, status_rank, error_code, country, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// ClaimSMSMessage records m; ErrAlreadyExists when its key was claimed before.
func (s *Store) ClaimSMSMessage(ctx context.Context, m storage.SMSMessage) error {
	updated := m.UpdatedAt
	if updated.IsZero() {
		updated = m.CreatedAt
	}
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSMSMessageInsert, m.Key, m.Provider, m.SID, m.Status,
			storage.SMSStatusRank(m.Status), m.ErrorCode, m.Country, ts(m.CreatedAt), ts(updated))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: claim SMS message: %w", mapErr(err))
	}
	return nil
}

const sqlSMSMessageFinish = `UPDATE sms_messages
    SET sid = $1, status = $2, status_rank = $3, error_code = $4, updated_at = $5
    WHERE key = $6`

// FinishSMSMessage records the outcome of sending key.
func (s *Store) FinishSMSMessage(ctx context.Context, key, sid, status string, errorCode int, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlSMSMessageFinish, sid, status, storage.SMSStatusRank(status), errorCode, ts(now), key)
		if err == nil && tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: finish SMS message: %w", mapErr(err))
	}
	return nil
}

const (
	sqlSMSStatusUpdate = `UPDATE sms_messages
    SET status = $1, status_rank = $2, error_code = $3, updated_at = $4
    WHERE sid = $5 AND sid <> '' AND status_rank <= $2`
	sqlSMSSIDExists = `SELECT 1 FROM sms_messages WHERE sid = $1 AND sid <> '' LIMIT 1`
)

// UpdateSMSStatus records a delivery report for sid, never moving a message back.
func (s *Store) UpdateSMSStatus(ctx context.Context, sid, status string, errorCode int, now time.Time) error {
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlSMSStatusUpdate, status, storage.SMSStatusRank(status), errorCode, ts(now), sid)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return conflictOrNotFound(ctx, tx, sqlSMSSIDExists, sid)
	})
	if err != nil {
		return fmt.Errorf("postgres: update SMS status of %s: %w", sid, mapErr(err))
	}
	return nil
}

type smsMessageRow struct {
	Key       string             `db:"key"`
	Provider  string             `db:"provider"`
	SID       string             `db:"sid"`
	Status    string             `db:"status"`
	ErrorCode int32              `db:"error_code"`
	Country   string             `db:"country"`
	CreatedAt pgtype.Timestamptz `db:"created_at"`
	UpdatedAt pgtype.Timestamptz `db:"updated_at"`
}

const sqlSMSMessageGet = `SELECT key, provider, sid, status, error_code, country, created_at, updated_at
    FROM sms_messages WHERE key = $1`

// GetSMSMessage returns the record of key.
func (s *Store) GetSMSMessage(ctx context.Context, key string) (storage.SMSMessage, error) {
	var r smsMessageRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlSMSMessageGet, key)
		if err != nil {
			return err
		}
		r, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[smsMessageRow])
		return err
	})
	if err != nil {
		return storage.SMSMessage{}, fmt.Errorf("postgres: get SMS message: %w", mapErr(err))
	}
	return storage.SMSMessage{
		Key: r.Key, Provider: r.Provider, SID: r.SID, Status: r.Status, ErrorCode: int(r.ErrorCode),
		Country: r.Country, CreatedAt: tm(r.CreatedAt), UpdatedAt: tm(r.UpdatedAt),
	}, nil
}

type smsStatRow struct {
	Country string `db:"country"`
	Status  string `db:"status"`
	Count   int64  `db:"count"`
}

const sqlSMSStats = `SELECT country, status, count(*) AS count FROM sms_messages WHERE created_at >= $1
    GROUP BY country, status ORDER BY country COLLATE "C", status COLLATE "C"`

// SMSStats counts the messages created at or after since, by country and status.
func (s *Store) SMSStats(ctx context.Context, since time.Time) ([]storage.SMSStat, error) {
	var rs []smsStatRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlSMSStats, since.UTC())
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[smsStatRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: SMS stats: %w", mapErr(err))
	}
	stats := make([]storage.SMSStat, len(rs))
	for i, r := range rs {
		stats[i] = storage.SMSStat{Country: r.Country, Status: r.Status, Count: int(r.Count)}
	}
	return stats, nil
}

const sqlSMSMessagesDelete = `DELETE FROM sms_messages WHERE created_at < $1`

// DeleteSMSMessages deletes the records created before t.
func (s *Store) DeleteSMSMessages(ctx context.Context, before time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlSMSMessagesDelete, before.UTC())
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete SMS messages: %w", mapErr(err))
	}
	return nil
}
