// Package sqlite is otpidp's embedded storage backend: a single SQLite file, pure Go (no cgo),
// through database/sql and modernc.org/sqlite.
//
// A Store keeps two connection pools on the file. Every write goes through one connection
// whose transactions begin IMMEDIATE, so writes in this process are serialised in Go instead
// of failing with SQLITE_BUSY, and the conditional updates (single-use codes, attempt
// counters, refresh rotation) are atomic; other processes sharing the file wait on the
// busy_timeout. Reads use a separate pool of read-only connections, which WAL mode lets run
// beside the writer.
//
// Times are stored as INTEGER microseconds since the Unix epoch (UTC), the zero time as NULL;
// string lists as JSON arrays; hashes and keys as BLOBs.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/otpidp/otpidp/migrations"
	"github.com/otpidp/otpidp/storage"
)

var _ storage.Storage = (*Store)(nil)

// busyTimeoutMillis is how long a connection waits for another process's lock on the file.
const busyTimeoutMillis = 10000

// Store is a storage.Storage on a SQLite file. It is safe for concurrent use.
type Store struct {
	w *sql.DB // the single writer connection; BEGIN IMMEDIATE
	r *sql.DB // read-only connections
}

// Open opens the SQLite database at path, creating the file if needed, and checks that it
// answers. It does not migrate: call Migrate. path is a file system path, not a URI; an
// in-memory database is not supported (the two pools would see two different databases).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	// A URI, so that the query parameters below reach the driver whatever the path holds; the
	// path is cleaned so that a leading "//" cannot read as an authority.
	name := "file:" + (&url.URL{Path: filepath.Clean(path)}).EscapedPath()
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeoutMillis)

	// synchronous=FULL: in WAL mode NORMAL may lose the last commits on power loss, and a
	// committed registration or a spent code must survive a crash.
	w, err := sql.Open("sqlite", name+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", name+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// Ping reports whether the database answers, on both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", err)
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
) STRICT`

const migrationApplied = `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`

const recordMigration = `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`

// Migrate applies the embedded migrations that are not applied yet, each in its own
// transaction. The transactions begin IMMEDIATE, so two processes migrating one file at once
// take turns, and the second finds the work done.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations.For("sqlite")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, createMigrationsTable)
		return err
	}); err != nil {
		return fmt.Errorf("sqlite: migrate: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			var done bool
			if err := tx.QueryRowContext(ctx, migrationApplied, m.Version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, recordMigration, m.Version, m.Name)
			return err
		}); err != nil {
			return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE on the writer connection) and commits
// it, or rolls it back when fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// insertErr maps a failed INSERT: a constraint violation on a key is ErrAlreadyExists.
func insertErr(err error) error {
	if isUnique(err) {
		return storage.ErrAlreadyExists
	}
	return err
}

// getErr maps a failed single-row read: no row is ErrNotFound.
func getErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	return err
}

// affected returns ErrNotFound when res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// conflictOrNotFound tells why a conditional update matched nothing: ErrConflict when the row
// exists (its state did not allow the update), ErrNotFound when it does not.
func conflictOrNotFound(ctx context.Context, tx *sql.Tx, existsSQL, id string) error {
	var exists bool
	if err := tx.QueryRowContext(ctx, existsSQL, id).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return storage.ErrConflict
	}
	return storage.ErrNotFound
}

// IsUnavailable reports whether err, returned by one of the Store's methods, means the
// database did not answer in time: another process held the file's lock past the busy
// timeout (SQLITE_BUSY, SQLITE_LOCKED and their extended codes) or the call's deadline
// passed. storage/deadline, which every server call goes through, wraps
// storage.ErrUnavailable around such errors; Unavailable does it for a caller without it.
func (s *Store) IsUnavailable(err error) bool { return isUnavailable(err) }

func isUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, storage.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// Unavailable returns err with storage.ErrUnavailable wrapped around it when IsUnavailable
// says so, and err as it is otherwise.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, storage.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}
