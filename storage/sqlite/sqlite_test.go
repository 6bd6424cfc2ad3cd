package sqlite_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/migrations"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
	"github.com/otpidp/otpidp/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "otpidp.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	})
}

// TestConcurrentMigrate opens one file several times and migrates every store at once: all
// succeed, every migration is recorded once, and the schema is usable from each store.
func TestConcurrentMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otpidp.db")
	const n = 4
	stores := make([]*sqlite.Store, n)
	for i := range stores {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}

	for i, s := range stores {
		if err := s.Migrate(t.Context()); err != nil {
			t.Errorf("second Migrate %d: %v", i, err)
		}
		if _, err := s.ListClients(t.Context()); err != nil {
			t.Errorf("ListClients on store %d: %v", i, err)
		}
	}

	ms, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	got, err := sqlite.AppliedMigrations(t.Context(), stores[0])
	if err != nil {
		t.Fatalf("AppliedMigrations: %v", err)
	}
	if len(got) != len(ms) {
		t.Fatalf("applied migrations = %v, want %d distinct", got, len(ms))
	}
	for i, m := range ms {
		if got[i] != m.Version {
			t.Errorf("applied[%d] = %d, want %d", i, got[i], m.Version)
		}
	}
}

// TestTwoStoresRace races conditional updates through two stores on one file, as two
// processes sharing it would: the file lock, not the writer connection of one store, has to
// keep them single-use.
func TestTwoStoresRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otpidp.db")
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate %d: %v", i, err)
		}
		stores[i] = s
	}
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	code := sha256.Sum256([]byte("123456"))

	race := func(n int, fn func(s *sqlite.Store, i int) error) (wins int, errs []error) {
		errs = make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = fn(stores[i%2], i) })
		}
		wg.Wait()
		for _, err := range errs {
			if err == nil {
				wins++
			}
		}
		return wins, errs
	}
	check := func(what string, wins, want int, errs []error, allowed error) {
		t.Helper()
		for _, err := range errs {
			if err != nil && !errors.Is(err, allowed) {
				t.Errorf("%s: unexpected error: %v", what, err)
			}
		}
		if wins != want {
			t.Errorf("%s: %d winners, want %d", what, wins, want)
		}
	}

	for _, id := range []string{"consume", "count"} {
		f := storage.Flow{ID: id, Kind: storage.FlowLogin, CodeHash: code[:], CodeExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
		if err := stores[0].CreateFlow(ctx, f); err != nil {
			t.Fatalf("CreateFlow: %v", err)
		}
	}
	wins, errs := race(20, func(s *sqlite.Store, _ int) error {
		_, err := s.ConsumeCode(ctx, "consume", code[:], 5, now)
		return err
	})
	check("ConsumeCode", wins, 1, errs, storage.ErrConflict)

	wins, errs = race(50, func(s *sqlite.Store, _ int) error {
		_, err := s.RecordWrongCode(ctx, "count", code[:], 5)
		return err
	})
	check("RecordWrongCode", wins, 5, errs, storage.ErrConflict)

	old := storage.RefreshToken{ID: "r", TokenHash: []byte("r"), FamilyID: "f", ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour)}
	if err := stores[1].CreateRefreshToken(ctx, old); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	wins, errs = race(10, func(s *sqlite.Store, i int) error {
		next := old
		next.ID = fmt.Sprintf("r%d", i)
		next.TokenHash = []byte(next.ID)
		access := storage.AccessToken{ID: fmt.Sprintf("a%d", i), FamilyID: "f", ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}
		return s.RotateRefreshToken(ctx, old.ID, next, access, now)
	})
	check("RotateRefreshToken", wins, 1, errs, storage.ErrAlreadyUsed)

	wins, errs = race(10, func(s *sqlite.Store, i int) error {
		return s.CreateSigningKey(ctx, storage.SigningKey{ID: fmt.Sprintf("k%d", i), Algorithm: "ES256", Generation: 1, PrivateKey: []byte("k"), CreatedAt: now})
	})
	check("CreateSigningKey", wins, 1, errs, storage.ErrAlreadyExists)
}

// TestOpenPath checks that Open takes a file system path, not a URI: characters that mean
// something in a URI end up in the file name.
func TestOpenPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"plain", filepath.Join(dir, "plain.db"), false},
		{"space", filepath.Join(dir, "with space.db"), false},
		{"question mark", filepath.Join(dir, "what?mode=ro.db"), false},
		{"hash", filepath.Join(dir, "a#b.db"), false},
		{"percent", filepath.Join(dir, "a%20b.db"), false},
		{"double slash", "/" + filepath.Join(dir, "slash.db"), false},
		{"empty", "", true},
		{"missing directory", filepath.Join(dir, "no", "such", "dir.db"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tc.path)
			if tc.wantErr {
				if err == nil {
					_ = s.Close()
					t.Fatalf("Open(%q) succeeded, want an error", tc.path)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.path, err)
			}
			defer s.Close()
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if err := s.CreateUser(t.Context(), storage.User{ID: "u1", Phone: "+15550000001"}); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if _, err := os.Stat(tc.path); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}
