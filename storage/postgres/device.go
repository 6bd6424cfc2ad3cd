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

// Device and user codes stay out of errors: errors end up in logs.

const deviceFields = `id, device_code_hash, user_code_hash, client_id, scopes, last_polled_at, user_id,
    auth_time, amr, approved_at, denied_at, used_at, created_at, expires_at`

type deviceRow struct {
	ID             string             `db:"id"`
	DeviceCodeHash []byte             `db:"device_code_hash"`
	UserCodeHash   []byte             `db:"user_code_hash"`
	ClientID       string             `db:"client_id"`
	Scopes         []string           `db:"scopes"`
	LastPolledAt   pgtype.Timestamptz `db:"last_polled_at"`
	UserID         string             `db:"user_id"`
	AuthTime       pgtype.Timestamptz `db:"auth_time"`
	AMR            []string           `db:"amr"`
	ApprovedAt     pgtype.Timestamptz `db:"approved_at"`
	DeniedAt       pgtype.Timestamptz `db:"denied_at"`
	UsedAt         pgtype.Timestamptz `db:"used_at"`
	CreatedAt      pgtype.Timestamptz `db:"created_at"`
	ExpiresAt      pgtype.Timestamptz `db:"expires_at"`
}

func (r deviceRow) device() storage.DeviceAuthorization {
	return storage.DeviceAuthorization{
		ID: r.ID, DeviceCodeHash: r.DeviceCodeHash, UserCodeHash: r.UserCodeHash, ClientID: r.ClientID,
		Scopes: nonEmpty(r.Scopes), LastPolledAt: tm(r.LastPolledAt), UserID: r.UserID, AuthTime: tm(r.AuthTime),
		AMR: nonEmpty(r.AMR), ApprovedAt: tm(r.ApprovedAt), DeniedAt: tm(r.DeniedAt), UsedAt: tm(r.UsedAt),
		CreatedAt: tm(r.CreatedAt), ExpiresAt: tm(r.ExpiresAt),
	}
}

func nonEmpty(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

func textArray(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// queryDevice runs a statement that returns at most one device authorization.
func (s *Store) queryDevice(ctx context.Context, query string, args ...any) (storage.DeviceAuthorization, error) {
	var row deviceRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[deviceRow])
		return err
	})
	return row.device(), mapErr(err)
}

const sqlDeviceInsert = `INSERT INTO device_authorizations (` + deviceFields + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// CreateDeviceAuthorization stores d; ErrAlreadyExists when a key or code hash is taken.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, d storage.DeviceAuthorization) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlDeviceInsert, d.ID, d.DeviceCodeHash, d.UserCodeHash, d.ClientID,
			textArray(d.Scopes), ts(d.LastPolledAt), d.UserID, ts(d.AuthTime), textArray(d.AMR),
			ts(d.ApprovedAt), ts(d.DeniedAt), ts(d.UsedAt), ts(d.CreatedAt), ts(d.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create device authorization: %w", mapErr(err))
	}
	return nil
}

const sqlDeviceByUserCode = `SELECT ` + deviceFields + ` FROM device_authorizations
    WHERE user_code_hash = $1 AND expires_at > $2 AND approved_at IS NULL AND denied_at IS NULL`

// GetDeviceAuthorizationByUserCode returns the live, undecided request of the user code.
func (s *Store) GetDeviceAuthorizationByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (storage.DeviceAuthorization, error) {
	d, err := s.queryDevice(ctx, sqlDeviceByUserCode, userCodeHash, ts(now))
	if err != nil {
		return storage.DeviceAuthorization{}, fmt.Errorf("postgres: get device authorization: %w", err)
	}
	return d, nil
}

const (
	sqlDeviceApprove = `UPDATE device_authorizations SET user_id = $1, auth_time = $2, amr = $3, approved_at = $4
    WHERE id = $5 AND approved_at IS NULL AND denied_at IS NULL AND expires_at > $4`
	sqlDeviceDeny = `UPDATE device_authorizations SET denied_at = $1
    WHERE id = $2 AND approved_at IS NULL AND denied_at IS NULL AND expires_at > $1`
	sqlDeviceState = `SELECT used_at IS NOT NULL FROM device_authorizations WHERE id = $1`
)

// DecideDeviceAuthorization records the user's answer once.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, id string, approved bool, userID string, authTime time.Time, amr []string, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var tagErr error
		var n int64
		if approved {
			tag, err := c.Exec(ctx, sqlDeviceApprove, userID, ts(authTime), textArray(amr), ts(now), id)
			n, tagErr = tag.RowsAffected(), err
		} else {
			tag, err := c.Exec(ctx, sqlDeviceDeny, ts(now), id)
			n, tagErr = tag.RowsAffected(), err
		}
		if tagErr != nil || n > 0 {
			return tagErr
		}
		var used bool
		if err := c.QueryRow(ctx, sqlDeviceState, id).Scan(&used); err != nil {
			return err
		}
		return storage.ErrConflict
	})
	if err != nil {
		return fmt.Errorf("postgres: decide device authorization: %w", mapErr(err))
	}
	return nil
}

const (
	sqlDevicePollOnTime = `UPDATE device_authorizations SET last_polled_at = $1
    WHERE device_code_hash = $2 AND (last_polled_at IS NULL OR last_polled_at <= $3)
    RETURNING ` + deviceFields
	sqlDevicePollEarly = `UPDATE device_authorizations SET last_polled_at = $1
    WHERE device_code_hash = $2 RETURNING ` + deviceFields
)

// PollDeviceAuthorization records a poll; early when the previous one was less than minGap ago.
func (s *Store) PollDeviceAuthorization(ctx context.Context, deviceCodeHash []byte, minGap time.Duration, now time.Time) (storage.DeviceAuthorization, bool, error) {
	d, err := s.queryDevice(ctx, sqlDevicePollOnTime, ts(now), deviceCodeHash, ts(now.Add(-minGap)))
	if err == nil {
		return d, false, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return d, false, fmt.Errorf("postgres: poll device authorization: %w", err)
	}
	d, err = s.queryDevice(ctx, sqlDevicePollEarly, ts(now), deviceCodeHash)
	if err != nil {
		return d, false, fmt.Errorf("postgres: poll device authorization: %w", err)
	}
	return d, true, nil
}

const sqlDeviceConsume = `UPDATE device_authorizations SET used_at = $1
    WHERE id = $2 AND approved_at IS NOT NULL AND used_at IS NULL AND expires_at > $1`

// ConsumeDeviceAuthorization marks an approved request used, once.
func (s *Store) ConsumeDeviceAuthorization(ctx context.Context, id string, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlDeviceConsume, ts(now), id)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		var used bool
		if err := c.QueryRow(ctx, sqlDeviceState, id).Scan(&used); err != nil {
			return err
		}
		if used {
			return storage.ErrAlreadyUsed
		}
		return storage.ErrConflict
	})
	if err != nil {
		return fmt.Errorf("postgres: consume device authorization: %w", mapErr(err))
	}
	return nil
}

const sqlDeviceDeleteExpired = `DELETE FROM device_authorizations WHERE expires_at <= $1`

// DeleteExpiredDeviceAuthorizations deletes the requests that expired at or before now.
func (s *Store) DeleteExpiredDeviceAuthorizations(ctx context.Context, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, sqlDeviceDeleteExpired, ts(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete expired device authorizations: %w", mapErr(err))
	}
	return nil
}
