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
// that wraps context.DeadlineExceeded and storage.ErrUnavailable, so that callers can answer
// 503 instead of queueing without bound.
//
// Deadlines (see WithTimeout): the caller's ctx bounds every call (storage/deadline gives each
// one); the server bounds each statement (but Migrate's) with statement_timeout and drops a
// transaction left idle with idle_in_transaction_session_timeout; a new connection must be
// made within connect_timeout; and TCP keepalives with TCP_USER_TIMEOUT (Linux) close a
// connection whose peer stopped answering, so that a stalled server or network is detected
// even on a connection nobody is waiting on. Connection failures, timeouts and the server
// refusing or ending sessions wrap storage.ErrUnavailable. When the server shuts sessions down
// (a restart, pg_terminate_backend), the call that notices fails and the pool is reset, so the
// calls after it get fresh connections.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	// DefaultStatementTimeout is the server-side statement_timeout used when the URL sets none
	// and no WithTimeout option is given.
	DefaultStatementTimeout = 30 * time.Second
	// AcquireTimeout bounds how long a call waits for a free pooled connection.
	AcquireTimeout = 5 * time.Second
)

// TCP keepalive: a connection whose peer sends nothing for keepAliveIdle is probed every
// keepAliveInterval, and closed after keepAliveCount unanswered probes. Unacknowledged data
// is given up after the call timeout (TCP_USER_TIMEOUT, Linux).
const (
	keepAliveIdle     = 10 * time.Second
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
)

// Option adjusts ParseConfig and Open.
type Option func(*options)

type options struct{ timeout time.Duration }

// WithTimeout sets the database-side bounds from one call timeout d (OTPIDP_DB_TIMEOUT):
// statement_timeout and idle_in_transaction_session_timeout d (unless the URL sets them),
// connect_timeout d (unless the URL sets it, in whole seconds), and TCP_USER_TIMEOUT d.
// Without it, statement_timeout is DefaultStatementTimeout and connections are made within
// AcquireTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

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
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := ParseConfig(url, opts...)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// ParseConfig parses url like pgxpool.ParseConfig and applies otpidp's defaults where the URL
// is silent: MaxConns = DefaultMaxConns, statement_timeout (DefaultStatementTimeout, or the
// WithTimeout option's) and the other bounds WithTimeout describes, and TCP keepalives. All
// other settings keep pgx's defaults.
func ParseConfig(url string, opts ...Option) (*pgxpool.Config, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
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
	statementTimeout, connectTimeout := DefaultStatementTimeout, AcquireTimeout
	if o.timeout > 0 {
		statementTimeout, connectTimeout = o.timeout, o.timeout
	}
	rp := cfg.ConnConfig.RuntimeParams
	setParam := func(name string, d time.Duration) {
		if _, ok := rp[name]; !ok && !strings.Contains(rp["options"], name) {
			rp[name] = fmt.Sprint(d.Milliseconds())
		}
	}
	setParam("statement_timeout", statementTimeout)
	if o.timeout > 0 {
		setParam("idle_in_transaction_session_timeout", o.timeout)
	}
	// A connection is made by the pool in the background, not under the caller's ctx: without
	// a bound, a server that accepts but never answers would keep it (and its pool slot) for
	// ever.
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	d := &net.Dialer{
		Timeout: cfg.ConnConfig.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: keepAliveIdle, Interval: keepAliveInterval, Count: keepAliveCount,
		},
		Control: userTimeoutControl(connectTimeout),
	}
	cfg.ConnConfig.DialFunc = d.DialContext
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
			return nil, fmt.Errorf("postgres: no connection within %v: %w: %w", s.acquireTimeout, storage.ErrUnavailable, context.DeadlineExceeded)
		}
		return nil, unavailable(fmt.Errorf("postgres: acquire connection: %w", err))
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
	if err != nil && c.Conn().IsClosed() {
		if serverShutdown(err) {
			s.pool.Reset()
		}
		// pgx closes a connection when it fails (a broken or timed-out network, the server
		// going away, a deadline): the database, not the statement, is the problem.
		if !errors.Is(err, storage.ErrUnavailable) && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w: connection lost: %w", storage.ErrUnavailable, err)
		}
	}
	return unavailable(err)
}

// unavailable wraps storage.ErrUnavailable around err when it says the database could not be
// reached or did not answer in time: a failed connection, a network error, a deadline, a
// cancelled statement (statement_timeout), the server shutting sessions down or refusing
// them (SQLSTATE classes 08 and 57P, 53300 too_many_connections), or a connection pgx closed
// after a failure. Other errors, and ones already wrapped, are returned as they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	if isUnavailable(err) {
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57P"), // admin/crash shutdown, cannot connect now
			pgErr.Code == "57014",                // query_canceled (statement_timeout)
			pgErr.Code == "53300",                // too_many_connections
			pgErr.Code == "25P03":                // idle_in_transaction_session_timeout
			return true
		}
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	// SafeToRetry: the statement never reached the server (a closed or busy connection).
	return pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
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
