// Package pgtest gives tests their own PostgreSQL schema in the test database
// (OTPIDP_TEST_DATABASE_URL), so that tests running at once never see each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SchemaURL creates a new, empty schema named prefix + a random suffix in the database at base,
// drops it when the test ends, and returns base with search_path set to it: a store opened on
// that URL sees only the schema.
func SchemaURL(t testing.TB, base, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("OTPIDP_TEST_DATABASE_URL: %v", err)
	}
	admin, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("PostgreSQL at OTPIDP_TEST_DATABASE_URL is unreachable: %v", err)
	}
	if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close(context.Background())
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close(ctx)
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
