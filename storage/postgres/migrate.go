package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/otpidp/otpidp/migrations"
)

// migrationLockKey is the pg_advisory_lock key (one 64-bit key: "otpidp" + 0x0001) held while
// migrating. Every otpidp instance uses the same key, so migrations run one instance at a time.
const migrationLockKey int64 = 0x6f74_7069_6470_0001

const (
	sqlMigrationLock   = `SELECT pg_advisory_lock($1)`
	sqlMigrationUnlock = `SELECT pg_advisory_unlock($1)`
	// applied_at is bookkeeping for operators, not domain data, so the server clock is fine.
	sqlCreateSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`
	sqlAppliedMigrations = `SELECT version FROM schema_migrations`
	sqlRecordMigration   = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
)

// Migrate applies the embedded migrations that are not applied yet, each in its own
// transaction. It works on a dedicated connection that holds a session advisory lock for the
// whole run, so that instances starting at once apply each migration exactly once; the others
// wait and then find nothing left to do. Versions present in the database but unknown to this
// binary (a newer release ran first) are left alone.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations.For("postgres")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	// A dedicated connection, not a pooled one: it gets no statement_timeout (waiting for the
	// lock or building an index may take a while; ctx bounds it) and it is closed afterwards,
	// which releases the lock even if the explicit unlock fails.
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, sqlMigrationLock, migrationLockKey); err != nil {
		return fmt.Errorf("postgres: migrate: take lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, sqlMigrationUnlock, migrationLockKey)
	}()

	if _, err := conn.Exec(ctx, sqlCreateSchemaMigrations); err != nil {
		return fmt.Errorf("postgres: migrate: create schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, sqlAppliedMigrations)
	if err != nil {
		return fmt.Errorf("postgres: migrate: list applied: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: migrate: list applied: %w", err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[int(v)] = true
	}

	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx sends it with the simple protocol, so a file may hold
			// several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sqlRecordMigration, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate: apply %s: %w", m.Name, err)
		}
	}
	return nil
}
