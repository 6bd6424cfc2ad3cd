package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// openStore opens the backend that databaseURL names: "" or sqlite:PATH for an SQLite file,
// postgres:// or postgresql:// for PostgreSQL (with opts). It does not migrate.
func openStore(ctx context.Context, databaseURL string, opts ...postgres.Option) (storage.Storage, error) {
	backend, target, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %q: %w", redactDatabaseURL(databaseURL), err)
	}
	switch backend {
	case backendPostgres:
		s, err := postgres.Open(ctx, target, opts...)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database %s: %w", redactDatabaseURL(target), err)
		}
		return s, nil
	case backendSQLite:
		s, err := sqlite.Open(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("open SQLite database %s: %w", target, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("database URL %q: unknown backend %q", redactDatabaseURL(databaseURL), backend)
}

// openMigratedStore opens the store and applies the migrations it lacks, so that every command
// works on a fresh database.
func openMigratedStore(ctx context.Context, databaseURL string, opts ...postgres.Option) (storage.Storage, error) {
	s, err := openStore(ctx, databaseURL, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("migrate database %s: %w", redactDatabaseURL(databaseURL), err), s.Close())
	}
	return s, nil
}

// openExistingStore is openMigratedStore for a database that must exist already: an SQLite
// file that is not there is refused rather than created, so that a command run from another
// directory (or with a mistyped path) does not quietly work on a new, empty otpidp.db. Only
// serve and migrate create the database.
func openExistingStore(ctx context.Context, databaseURL string) (storage.Storage, error) {
	backend, target, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %q: %w", redactDatabaseURL(databaseURL), err)
	}
	if backend == backendSQLite {
		if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: run \"otpidp migrate\" to create one, or point OTPIDP_DATABASE_URL (or --database-url) at the existing file; only serve and migrate create a database", target)
		} else if err != nil {
			return nil, fmt.Errorf("open SQLite database %s: %w", target, err)
		}
	}
	return openMigratedStore(ctx, databaseURL)
}

// openStore loads a command's configuration and opens its store, which must exist, migrated:
// what every command but serve and migrate starts with.
func (cf *configFlags) openStore(ctx context.Context, getenv func(string) string, stderr io.Writer) (Config, storage.Storage, error) {
	cfg, err := cf.load(getenv, stderr)
	if err != nil {
		return Config{}, nil, err
	}
	store, err := openExistingStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return Config{}, nil, err
	}
	return cfg, store, nil
}

// openOrCreateStore is openStore that creates the database when it does not exist: migrate's.
func (cf *configFlags) openOrCreateStore(ctx context.Context, getenv func(string) string, stderr io.Writer) (Config, storage.Storage, error) {
	cfg, err := cf.load(getenv, stderr)
	if err != nil {
		return Config{}, nil, err
	}
	store, err := openMigratedStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return Config{}, nil, err
	}
	return cfg, store, nil
}
