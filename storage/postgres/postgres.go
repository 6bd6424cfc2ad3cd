// Package postgres is otpidp's PostgreSQL storage backend, built on pgx and pgxpool. It is the
// backend for production and for several otpidp instances sharing one database: every
// single-use or limited thing is changed by a conditional UPDATE, so races are decided by the
// database, and Migrate runs under an advisory lock, so replicas can start together.
//
// Times are stored as timestamptz and returned in UTC; the zero time is stored as NULL. String
// lists are text[], hashes and keys bytea.
//
// Pool sizing: MaxConns defaults to DefaultMaxConns unless the URL sets pool_max_conns. Keep
// MaxConns × instances below the server's max_connections minus headroom. A call waits at most
// AcquireTimeout for a free connection (less if its ctx says so) and then fails with an error
// that wraps context.DeadlineExceeded, so that callers can answer 503 instead of queueing
// without bound. Each statement (but Migrate's) is bounded by the server's statement_timeout,
// which defaults to DefaultStatementTimeout unless the URL sets it. When the server shuts
// sessions down (a restart, pg_terminate_backend), the call that notices fails and the pool is
// reset, so the calls after it get fresh connections.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const (
	// DefaultMaxConns is the pool size used when the URL has no pool_max_conns.
	DefaultMaxConns = 10
	// DefaultStatementTimeout is the server-side statement_timeout used when the URL sets none.
	DefaultStatementTimeout = 30 * time.Second
	// AcquireTimeout bounds how long a call waits for a free pooled connection.
	AcquireTimeout = 5 * time.Second
)

// Store is a storage.Storage on a PostgreSQL connection pool. It is safe for concurrent use.
type Store struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
}

var _ storage.Storage = (*Store)(nil)

// errZeroNow is returned when a method that records "now" as a marker (used, revoked,
// completed) is given the zero time, which would be stored as NULL and so mark nothing.
var errZeroNow = errors.New("now is the zero time")

// errAcquireTimeout is the cancellation cause of a connection acquisition that ran out of time.
var errAcquireTimeout = errors.New("postgres: acquire timeout")

// Open parses url (a postgres:// URL or a key=value string, see ParseConfig), connects and
// pings the database.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// ParseConfig parses url like pgxpool.ParseConfig and applies otpidp's defaults where the URL
// is silent: MaxConns = DefaultMaxConns and statement_timeout = DefaultStatementTimeout. All
// other settings keep pgx's defaults.
func ParseConfig(url string) (*pgxpool.Config, error) {
	// pgxpool.ParseConfig removes pool_* parameters once it has read them, so look first.
	raw, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if _, ok := raw.RuntimeParams["pool_max_conns"]; !ok {
		cfg.MaxConns = DefaultMaxConns
	}
	rp := cfg.ConnConfig.RuntimeParams
	if _, ok := rp["statement_timeout"]; !ok && !strings.Contains(rp["options"], "statement_timeout") {
		rp["statement_timeout"] = fmt.Sprint(DefaultStatementTimeout.Milliseconds())
	}
	return cfg, nil
}

// New connects a pool with cfg as it is (see ParseConfig for otpidp's defaults) and pings the
// database.
func New(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, acquireTimeout: AcquireTimeout}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		if err := c.Ping(ctx); err != nil {
			return fmt.Errorf("postgres: ping: %w", err)
		}
		return nil
	})
}

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// acquire takes a connection from the pool, waiting at most s.acquireTimeout.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeoutCause(ctx, s.acquireTimeout, errAcquireTimeout)
	defer cancel()
	c, err := s.pool.Acquire(actx)
	if err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(actx), errAcquireTimeout) {
			return nil, fmt.Errorf("postgres: no connection within %v: %w", s.acquireTimeout, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("postgres: acquire connection: %w", err)
	}
	return c, nil
}

// withConn runs fn on a pooled connection.
//
// pgxpool discards a broken connection when it is released, but it only notices that an idle
// one is broken when it pings it, which by default it does after a second of idleness: after a
// server restart every pooled connection would fail one call. So when a call fails because the
// server shut its connection down (SQLSTATE 57P01 admin_shutdown, 57P02 crash_shutdown), which
// the other connections to that server have most likely suffered too, the whole pool is reset:
// idle connections are closed now, those in use when they are released.
func (s *Store) withConn(ctx context.Context, fn func(c *pgxpool.Conn) error) error {
	c, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	err = fn(c)
	if err != nil && c.Conn().IsClosed() && serverShutdown(err) {
		s.pool.Reset()
	}
	return err
}

// serverShutdown reports whether err is the server closing the session because it (or an
// administrator) is shutting sessions down.
func serverShutdown(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "57P01" || pgErr.Code == "57P02")
}

// withTx runs fn in a transaction on a pooled connection: it commits when fn returns nil and
// rolls back otherwise.
func (s *Store) withTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		return pgx.BeginFunc(ctx, c, fn)
	})
}

// mapErr turns the driver's "no rows" and "unique violation" into the storage sentinels and
// leaves every other error as it is.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrNotFound
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return fmt.Errorf("%w (%s)", storage.ErrAlreadyExists, pgErr.ConstraintName)
	}
	return err
}

// ts converts a time to a timestamptz parameter: the zero time is NULL.
func ts(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t.UTC(), Valid: true}
}

// tm converts a scanned timestamptz to a UTC time: NULL is the zero time.
func tm(t pgtype.Timestamptz) time.Time {
	if !t.Valid || t.InfinityModifier != pgtype.Finite {
		return time.Time{}
	}
	return t.Time.UTC()
}

// rowQuerier is a connection or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// exists reports whether a row matches query; it tells "absent" from "present but not
// matching" after a conditional update matched nothing.
func exists(ctx context.Context, q rowQuerier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// conflictOrNotFound is the error of a conditional update that matched nothing: ErrNotFound
// when the row is absent, ErrConflict when it is present but did not qualify.
func conflictOrNotFound(ctx context.Context, q rowQuerier, existsQuery string, args ...any) error {
	ok, err := exists(ctx, q, existsQuery, args...)
	if err != nil {
		return err
	}
	if !ok {
		return storage.ErrNotFound
	}
	return storage.ErrConflict
}
