package main

import (
	"context"
	"fmt"
	"io"
)

const migrateUsage = `Usage: otpidp migrate [FLAGS]

Apply the database migrations that are not applied yet, and exit. serve does this too at start;
several instances may migrate one PostgreSQL database at once.

Flags:
`

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", migrateUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "migrate: unexpected argument %q", fs.Arg(0))
	}
	cfg, store, err := cf.openOrCreateStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	fmt.Fprintf(stdout, "Database %s is up to date.\n", redactDatabaseURL(cfg.DatabaseURL))
	return nil
}
