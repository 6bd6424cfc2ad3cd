package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// Device and user codes stay out of errors: errors end up in logs.

const deviceFields = `id, device_code_hash, user_code_hash, client_id, scopes, last_polled_at, user_id,
    auth_time, amr, approved_at, denied_at, used_at, created_at, expires_at`

func scanDevice(row scanner) (storage.DeviceAuthorization, error) {
	var d storage.DeviceAuthorization
	err := row.Scan(&d.ID, &d.DeviceCodeHash, &d.UserCodeHash, &d.ClientID, listCol(&d.Scopes),
		timeCol(&d.LastPolledAt), &d.UserID, timeCol(&d.AuthTime), listCol(&d.AMR), timeCol(&d.ApprovedAt),
		timeCol(&d.DeniedAt), timeCol(&d.UsedAt), timeCol(&d.CreatedAt), timeCol(&d.ExpiresAt))
	return d, err
}

const insertDevice = `INSERT INTO device_authorizations (` + deviceFields + `)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateDeviceAuthorization stores d; ErrAlreadyExists when a key or code hash is taken.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, d storage.DeviceAuthorization) error {
	_, err := s.w.ExecContext(ctx, insertDevice, d.ID, d.DeviceCodeHash, d.UserCodeHash, d.ClientID,
		listArg(d.Scopes), timeArg(d.LastPolledAt), d.UserID, timeArg(d.AuthTime), listArg(d.AMR),
		timeArg(d.ApprovedAt), timeArg(d.DeniedAt), timeArg(d.UsedAt), timeArg(d.CreatedAt), timeArg(d.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create device authorization: %w", insertErr(err))
	}
	return nil
}

const selectDeviceByUserCode = `SELECT ` + deviceFields + ` FROM device_authorizations
    WHERE user_code_hash = ? AND expires_at > ? AND approved_at IS NULL AND denied_at IS NULL`

// GetDeviceAuthorizationByUserCode returns the live, undecided request of the user code.
func (s *Store) GetDeviceAuthorizationByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (storage.DeviceAuthorization, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, selectDeviceByUserCode, userCodeHash, timeArg(now)))
	if err != nil {
		return storage.DeviceAuthorization{}, fmt.Errorf("sqlite: get device authorization: %w", getErr(err))
	}
	return d, nil
}

const (
	approveDevice = `UPDATE device_authorizations SET user_id = ?, auth_time = ?, amr = ?, approved_at = ?
    WHERE id = ? AND approved_at IS NULL AND denied_at IS NULL AND expires_at > ?`
	denyDevice = `UPDATE device_authorizations SET denied_at = ?1
    WHERE id = ?2 AND approved_at IS NULL AND denied_at IS NULL AND expires_at > ?1`
	existsDevice = `SELECT 1 FROM device_authorizations WHERE id = ?`
)

// DecideDeviceAuthorization records the user's answer once.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, id string, approved bool, userID string, authTime time.Time, amr []string, now time.Time) error {
	var err error
	if approved {
		err = s.decideDevice(ctx, id, approveDevice, userID, timeArg(authTime), listArg(amr), timeArg(now), id, timeArg(now))
	} else {
		err = s.decideDevice(ctx, id, denyDevice, timeArg(now), id)
	}
	if err != nil {
		return fmt.Errorf("sqlite: decide device authorization: %w", err)
	}
	return nil
}

// decideDevice runs a conditional update of the device authorization id: ErrConflict when it
// matched nothing but the row exists, ErrNotFound when it does not.
func (s *Store) decideDevice(ctx context.Context, id, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var one int
	if err := s.r.QueryRowContext(ctx, existsDevice, id).Scan(&one); err != nil {
		return getErr(err)
	}
	return storage.ErrConflict
}

const (
	pollDeviceOnTime = `UPDATE device_authorizations SET last_polled_at = ?1
    WHERE device_code_hash = ?2 AND (last_polled_at IS NULL OR last_polled_at <= ?3)
    RETURNING ` + deviceFields
	pollDeviceEarly = `UPDATE device_authorizations SET last_polled_at = ?1
    WHERE device_code_hash = ?2 RETURNING ` + deviceFields
)

// PollDeviceAuthorization records a poll; early when the previous one was less than minGap ago.
func (s *Store) PollDeviceAuthorization(ctx context.Context, deviceCodeHash []byte, minGap time.Duration, now time.Time) (storage.DeviceAuthorization, bool, error) {
	d, err := scanDevice(s.w.QueryRowContext(ctx, pollDeviceOnTime, timeArg(now), deviceCodeHash, timeArg(now.Add(-minGap))))
	if err == nil {
		return d, false, nil
	}
	if err = getErr(err); !errors.Is(err, storage.ErrNotFound) {
		return d, false, fmt.Errorf("sqlite: poll device authorization: %w", err)
	}
	d, err = scanDevice(s.w.QueryRowContext(ctx, pollDeviceEarly, timeArg(now), deviceCodeHash))
	if err != nil {
		return d, false, fmt.Errorf("sqlite: poll device authorization: %w", getErr(err))
	}
	return d, true, nil
}

const (
	consumeDevice = `UPDATE device_authorizations SET used_at = ?1
    WHERE id = ?2 AND approved_at IS NOT NULL AND used_at IS NULL AND expires_at > ?1`
	deviceUsed = `SELECT used_at IS NOT NULL FROM device_authorizations WHERE id = ?`
)

// ConsumeDeviceAuthorization marks an approved request used, once.
func (s *Store) ConsumeDeviceAuthorization(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, consumeDevice, timeArg(now), id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			var used bool
			if err = s.r.QueryRowContext(ctx, deviceUsed, id).Scan(&used); err == nil {
				err = storage.ErrConflict
				if used {
					err = storage.ErrAlreadyUsed
				}
			}
			err = getErr(err)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: consume device authorization: %w", err)
	}
	return nil
}

const deleteExpiredDevices = `DELETE FROM device_authorizations WHERE expires_at <= ?`

// DeleteExpiredDeviceAuthorizations deletes the requests that expired at or before now.
func (s *Store) DeleteExpiredDeviceAuthorizations(ctx context.Context, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, deleteExpiredDevices, timeArg(now)); err != nil {
		return fmt.Errorf("sqlite: delete expired device authorizations: %w", err)
	}
	return nil
}
