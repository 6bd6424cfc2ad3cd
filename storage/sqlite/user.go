package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const userCols = `id, phone, phone_verified, name, password_hash, created_at, updated_at, disabled_at`

func scanUser(sc scanner) (storage.User, error) {
	var u storage.User
	err := sc.Scan(&u.ID, &u.Phone, &u.PhoneVerified, &u.Name, &u.PasswordHash,
		timeCol(&u.CreatedAt), timeCol(&u.UpdatedAt), timeCol(&u.DisabledAt))
	return u, err
}

// insertUser never gives out the ID of a deleted user: it inserts nothing then, which
// createUser reports as ErrAlreadyExists.
const insertUser = `INSERT INTO users (` + userCols + `)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE NOT EXISTS (SELECT 1 FROM deleted_users WHERE id = ?1)`

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func createUser(ctx context.Context, e execer, u storage.User) error {
	res, err := e.ExecContext(ctx, insertUser, u.ID, u.Phone, boolArg(u.PhoneVerified), u.Name,
		u.PasswordHash, timeArg(u.CreatedAt), timeArg(u.UpdatedAt), timeArg(u.DisabledAt))
	if err != nil {
		return insertErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return storage.ErrAlreadyExists // the ID of a deleted user
	}
	return nil
}

// CreateUser stores u; ErrAlreadyExists when its ID or phone is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	if err := createUser(ctx, s.w, u); err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.ID, err)
	}
	return nil
}

const selectUser = `SELECT ` + userCols + ` FROM users WHERE id = ?`

// GetUser returns the user with that ID.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, selectUser, id))
	if err != nil {
		return storage.User{}, fmt.Errorf("sqlite: get user %q: %w", id, getErr(err))
	}
	return u, nil
}

const selectUserByPhone = `SELECT ` + userCols + ` FROM users WHERE phone = ?`

// GetUserByPhone returns the user with that E.164 phone number.
func (s *Store) GetUserByPhone(ctx context.Context, phone string) (storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, selectUserByPhone, phone))
	if err != nil {
		// The phone number is not logged: errors end up in logs.
		return storage.User{}, fmt.Errorf("sqlite: get user by phone: %w", getErr(err))
	}
	return u, nil
}

const updateUserPassword = `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`

// UpdateUserPassword replaces the user's password hash; ErrNotFound when absent.
func (s *Store) UpdateUserPassword(ctx context.Context, id, passwordHash string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, updateUserPassword, passwordHash, timeArg(now), id)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update password of user %q: %w", id, err)
	}
	return nil
}
