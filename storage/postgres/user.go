package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const (
	sqlSecretInsert = `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`
	sqlSecretGet    = `SELECT value FROM secrets WHERE name = $1`
)

// Secret returns the named secret, creating it with value if it does not exist yet. The insert
// and the read are separate statements so that the read sees a row another instance committed
// while the insert waited for it.
func (s *Store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var got []byte
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		if _, err := c.Exec(ctx, sqlSecretInsert, name, value); err != nil {
			return err
		}
		return c.QueryRow(ctx, sqlSecretGet, name).Scan(&got)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, mapErr(err))
	}
	return got, nil
}

const userColumns = `id, phone, phone_verified, name, password_hash, created_at, updated_at, disabled_at`

type userRow struct {
	ID            string             `db:"id"`
	Phone         string             `db:"phone"`
	PhoneVerified bool               `db:"phone_verified"`
	Name          string             `db:"name"`
	PasswordHash  string             `db:"password_hash"`
	CreatedAt     pgtype.Timestamptz `db:"created_at"`
	UpdatedAt     pgtype.Timestamptz `db:"updated_at"`
	DisabledAt    pgtype.Timestamptz `db:"disabled_at"`
}

func (r userRow) user() storage.User {
	return storage.User{
		ID:            r.ID,
		Phone:         r.Phone,
		PhoneVerified: r.PhoneVerified,
		Name:          r.Name,
		PasswordHash:  r.PasswordHash,
		CreatedAt:     tm(r.CreatedAt),
		UpdatedAt:     tm(r.UpdatedAt),
		DisabledAt:    tm(r.DisabledAt),
	}
}

// sqlUserInsert never gives out the ID of a deleted user: it inserts nothing then, which
// insertUser reports as ErrAlreadyExists.
const sqlUserInsert = `INSERT INTO users (` + userColumns + `)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM deleted_users WHERE id = $1)`

func userArgs(u storage.User) []any {
	return []any{u.ID, u.Phone, u.PhoneVerified, u.Name, u.PasswordHash, ts(u.CreatedAt), ts(u.UpdatedAt), ts(u.DisabledAt)}
}

// execer is a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertUser stores u: ErrAlreadyExists when its ID or phone is taken, or its ID was a deleted
// user's.
func insertUser(ctx context.Context, e execer, u storage.User) error {
	tag, err := e.Exec(ctx, sqlUserInsert, userArgs(u)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return storage.ErrAlreadyExists
	}
	return nil
}

// CreateUser stores u: ErrAlreadyExists when its ID or phone is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return insertUser(ctx, c, u)
	})
	if err != nil {
		return fmt.Errorf("postgres: create user %q: %w", u.ID, mapErr(err))
	}
	return nil
}

const (
	sqlUserGet        = `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	sqlUserGetByPhone = `SELECT ` + userColumns + ` FROM users WHERE phone = $1`
)

// GetUser returns the user with that ID.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := s.queryUser(ctx, sqlUserGet, id)
	if err != nil {
		return storage.User{}, fmt.Errorf("postgres: get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByPhone returns the user with that E.164 phone number.
func (s *Store) GetUserByPhone(ctx context.Context, phone string) (storage.User, error) {
	u, err := s.queryUser(ctx, sqlUserGetByPhone, phone)
	if err != nil {
		// The phone number stays out of the message: errors end up in logs.
		return storage.User{}, fmt.Errorf("postgres: get user by phone: %w", err)
	}
	return u, nil
}

func (s *Store) queryUser(ctx context.Context, query string, arg string) (storage.User, error) {
	var row userRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, arg)
		if err != nil {
			return err
		}
		row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[userRow])
		return err
	})
	if err != nil {
		return storage.User{}, mapErr(err)
	}
	return row.user(), nil
}

const sqlUserUpdatePassword = `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`

// UpdateUserPassword sets the user's password hash and UpdatedAt = now.
func (s *Store) UpdateUserPassword(ctx context.Context, id, passwordHash string, now time.Time) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlUserUpdatePassword, id, passwordHash, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: update password of user %q: %w", id, mapErr(err))
	}
	return nil
}

// errNoRows reports whether err is pgx's "no rows".
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
