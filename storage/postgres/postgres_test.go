package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/otpidp/otpidp/migrations"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/storagetest"
)

// envURL names the database the tests run against. Without it the tests skip, unless CI is
// set: then a missing or unreachable database fails them.
const envURL = "OTPIDP_TEST_DATABASE_URL"

func testURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests", envURL)
		}
		t.Skipf("%s is not set", envURL)
	}
	return url
}

// adminExec runs one statement on a connection of its own (not a store's).
func adminExec(ctx context.Context, url, sql string, args ...any) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// newSchema creates a uniquely named, empty schema and drops it when the test ends.
func newSchema(t *testing.T, url string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "otpidp_test_" + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()
	if err := adminDo(t.Context(), url, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("database %s unreachable or unusable: %v", envURL, err)
	}
	t.Cleanup(func() {
		if err := adminDo(context.Background(), url, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// adminDo runs one statement without a result on a connection of its own.
func adminDo(ctx context.Context, url, sql string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// openStore opens a store whose connections use schema (search_path) and carry schema as their
// application_name, so that a test can find them in pg_stat_activity.
func openStore(t *testing.T, url, schema string) *postgres.Store {
	t.Helper()
	cfg, err := postgres.ParseConfig(url)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	s, err := postgres.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("database %s unreachable: %v", envURL, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newStore is the conformance suite's constructor: a fresh schema, migrated.
func newStore(t *testing.T) storage.Storage {
	t.Helper()
	s, _ := newStores(t, 1)
	return s[0]
}

// newStores opens n stores (n pools, as n instances would) on one fresh, migrated schema.
func newStores(t *testing.T, n int) ([]*postgres.Store, string) {
	t.Helper()
	url := testURL(t)
	schema := newSchema(t, url)
	ss := make([]*postgres.Store, n)
	for i := range ss {
		ss[i] = openStore(t, url, schema)
	}
	if err := ss[0].Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return ss, schema
}

// TestConformance runs the shared storage suite, each subtest on a fresh schema.
func TestConformance(t *testing.T) {
	testURL(t)
	storagetest.Run(t, newStore)
}

func TestParseConfig(t *testing.T) {
	defaultTimeout := fmt.Sprint(postgres.DefaultStatementTimeout.Milliseconds())
	tests := []struct {
		name             string
		url              string
		wantMaxConns     int32
		wantTimeout      string // "" means: no statement_timeout runtime parameter
		wantErr          bool
		wantOtherRuntime map[string]string
	}{
		{
			name:         "defaults",
			url:          "postgres://u@db.example:5432/otpidp?sslmode=disable",
			wantMaxConns: postgres.DefaultMaxConns,
			wantTimeout:  defaultTimeout,
		},
		{
			name:         "url sets pool size",
			url:          "postgres://u@db.example/otpidp?pool_max_conns=3",
			wantMaxConns: 3,
			wantTimeout:  defaultTimeout,
		},
		{
			name:         "url sets statement timeout",
			url:          "postgres://u@db.example/otpidp?statement_timeout=5s",
			wantMaxConns: postgres.DefaultMaxConns,
			wantTimeout:  "5s",
		},
		{
			name:             "statement timeout in options",
			url:              "postgres://u@db.example/otpidp?options=-c%20statement_timeout%3D1s",
			wantMaxConns:     postgres.DefaultMaxConns,
			wantOtherRuntime: map[string]string{"options": "-c statement_timeout=1s"},
		},
		{
			name:         "key value form",
			url:          "host=db.example user=u dbname=otpidp pool_max_conns=7",
			wantMaxConns: 7,
			wantTimeout:  defaultTimeout,
		},
		{name: "not a url", url: "postgres://u@db.example:notaport/x", wantErr: true},
		{name: "bad pool size", url: "postgres://u@db.example/x?pool_max_conns=zero", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := postgres.ParseConfig(tt.url)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseConfig(%q) = nil error, want one", tt.url)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig(%q): %v", tt.url, err)
			}
			if cfg.MaxConns != tt.wantMaxConns {
				t.Errorf("MaxConns = %d, want %d", cfg.MaxConns, tt.wantMaxConns)
			}
			got, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]
			if tt.wantTimeout == "" && ok {
				t.Errorf("statement_timeout = %q, want none", got)
			}
			if tt.wantTimeout != "" && got != tt.wantTimeout {
				t.Errorf("statement_timeout = %q, want %q", got, tt.wantTimeout)
			}
			for k, v := range tt.wantOtherRuntime {
				if got := cfg.ConnConfig.RuntimeParams[k]; got != v {
					t.Errorf("runtime param %s = %q, want %q", k, got, v)
				}
			}
			if _, ok := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; ok {
				t.Errorf("pool_max_conns left in the runtime parameters sent to the server")
			}
		})
	}
}

// TestMigrateConcurrent starts four instances on one empty schema at once: every Migrate
// succeeds, each migration is applied and recorded exactly once, and migrating again is a no-op.
func TestMigrateConcurrent(t *testing.T) {
	url := testURL(t)
	schema := newSchema(t, url)
	const n = 4
	stores := make([]*postgres.Store, n)
	for i := range stores {
		stores[i] = openStore(t, url, schema)
	}

	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate on instance %d: %v", i, err)
		}
	}

	ms, err := migrations.For("postgres")
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for _, m := range ms {
		want = append(want, int32(m.Version))
	}
	got := appliedVersions(t, stores[0])
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema_migrations versions (-want +got):\n%s", diff)
	}

	for i, s := range stores {
		if err := s.Migrate(t.Context()); err != nil {
			t.Errorf("second Migrate on instance %d: %v", i, err)
		}
		if _, err := s.ListClients(t.Context()); err != nil {
			t.Errorf("ListClients on instance %d: %v", i, err)
		}
	}
	if got := appliedVersions(t, stores[0]); !slices.Equal(got, want) {
		t.Errorf("after a second Migrate, versions = %v, want %v", got, want)
	}
}

func appliedVersions(t *testing.T, s *postgres.Store) []int32 {
	t.Helper()
	rows, err := postgres.Pool(s).Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return vs
}

// TestRecoverAfterTerminate kills every server backend of a store's pool, as a database
// restart would: the pool must drop the broken connections and the store must work again
// within a few calls, without being reopened.
func TestRecoverAfterTerminate(t *testing.T) {
	ss, schema := newStores(t, 1)
	s := ss[0]
	ctx := t.Context()
	u := storage.User{ID: "u1", Phone: "+15550000001", Name: "A", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	// Open several connections, so that several broken ones sit in the pool.
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 5 {
				if _, err := s.GetUser(ctx, u.ID); err != nil {
					t.Errorf("GetUser before the kill: %v", err)
				}
			}
		})
	}
	wg.Wait()

	// Only this store's backends (its application_name), not those of other tests sharing the
	// database.
	killed, err := adminExec(ctx, testURL(t), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, schema)
	if err != nil {
		t.Fatalf("terminate backends: %v", err)
	}
	if killed == 0 {
		t.Fatalf("no backend of the store was terminated")
	}

	// The first call may land on a dead connection; it resets the pool, so the second one
	// gets a fresh connection.
	const maxTries = 2
	var lastErr error
	recovered := false
	for try := range maxTries {
		if _, err := s.GetUser(ctx, u.ID); err != nil {
			lastErr = err
			t.Logf("try %d after killing %d backends: %v", try+1, killed, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		recovered = true
		break
	}
	if !recovered {
		t.Fatalf("store did not recover within %d calls; last error: %v", maxTries, lastErr)
	}
	for i := range 20 {
		if _, err := s.GetUser(ctx, u.ID); err != nil {
			t.Fatalf("call %d after recovery: %v", i, err)
		}
	}
	u2 := storage.User{ID: "u2", Phone: "+15550000002", Name: "B", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(ctx, u2); err != nil {
		t.Fatalf("CreateUser after recovery: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after recovery: %v", err)
	}
}

// TestAcquireTimeout holds the only pooled connection: a call then fails within the acquire
// timeout with an error that wraps context.DeadlineExceeded, instead of waiting forever.
func TestAcquireTimeout(t *testing.T) {
	url := testURL(t)
	schema := newSchema(t, url)
	cfg, err := postgres.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	s, err := postgres.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	postgres.SetAcquireTimeout(s, 200*time.Millisecond)

	held, err := postgres.Pool(s).Acquire(t.Context())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	begin := time.Now()
	_, err = s.GetUser(t.Context(), "nobody")
	elapsed := time.Since(begin)
	held.Release()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetUser with the pool exhausted = %v, want context.DeadlineExceeded", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("GetUser waited %v for a connection", elapsed)
	}
	if _, err := s.GetUser(t.Context(), "nobody"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetUser after release = %v, want ErrNotFound", err)
	}
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// TestTimes checks the encoding: non-UTC times come back as the same instant in UTC (to the
// microsecond, the precision of timestamptz), and the zero time is stored as NULL.
func TestTimes(t *testing.T) {
	ss, _ := newStores(t, 1)
	s := ss[0]
	ctx := t.Context()
	tokyo := time.FixedZone("JST", 9*3600)
	local := time.Date(2031, 5, 6, 7, 8, 9, 123456789, tokyo)
	k := storage.SigningKey{ID: "k1", Algorithm: "ES256", Generation: 1, PrivateKey: []byte{1},
		CreatedAt: local, ActiveAt: local.Add(time.Hour)} // ExpiresAt zero
	if err := s.CreateSigningKey(ctx, k); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	ks, err := s.ListSigningKeys(ctx)
	if err != nil || len(ks) != 1 {
		t.Fatalf("ListSigningKeys = %v, %v", ks, err)
	}
	got := ks[0]
	if got.CreatedAt.Location() != time.UTC || got.ActiveAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.CreatedAt, got.ActiveAt)
	}
	if want := local.Truncate(time.Microsecond).UTC(); !got.CreatedAt.Equal(want) || got.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}
	if !got.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, want the zero time", got.ExpiresAt)
	}
	var isNull bool
	if err := postgres.Pool(s).QueryRow(ctx, `SELECT expires_at IS NULL FROM signing_keys WHERE id = 'k1'`).Scan(&isNull); err != nil {
		t.Fatal(err)
	}
	if !isNull {
		t.Errorf("zero ExpiresAt not stored as NULL")
	}
}

// race runs fn(i) for i in [0, n) at once, each on one of the stores in turn (as separate
// instances would), and returns the errors.
func race(stores []*postgres.Store, n int, fn func(s *postgres.Store, i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(stores[i%len(stores)], i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// countNil returns how many errors are nil and fails the test for any other error that is not
// errors.Is(err, want).
func countNil(t *testing.T, errs []error, want error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, want):
			t.Errorf("racer %d: %v, want nil or %v", i, err, want)
		}
	}
	return n
}

// TestRacesAcrossInstances races single-use operations over two pools on one schema, as two
// otpidp instances would: exactly one winner every time (REL-02).
func TestRacesAcrossInstances(t *testing.T) {
	const racers = 8
	later := t0.Add(time.Hour)
	tests := []struct {
		name string
		run  func(t *testing.T, stores []*postgres.Store)
	}{
		{"ConsumeAuthCode", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			s := stores[0]
			a := storage.AuthRequest{ID: "ar1", ClientID: "c1", MaxAge: -1, CreatedAt: t0, ExpiresAt: later}
			if err := s.CreateAuthRequest(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteAuthRequest(ctx, a.ID, "u1", t0, []string{"pwd", "sms"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.SetAuthCode(ctx, a.ID, []byte("code"), t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				got, err := s.ConsumeAuthCode(ctx, []byte("code"), t0.Add(time.Second))
				if got.ID != a.ID {
					return fmt.Errorf("returned request %q with %v", got.ID, err)
				}
				return err
			})
			if n := countNil(t, errs, storage.ErrAlreadyUsed); n != 1 {
				t.Errorf("%d winners, want 1", n)
			}
		}},
		{"ConsumeCode", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			f := storage.Flow{ID: "f1", Kind: storage.FlowLogin, CodeHash: []byte("h"), CodeSentAt: t0,
				CodeExpiresAt: later, SendCount: 1, CreatedAt: t0, ExpiresAt: later}
			if err := stores[0].CreateFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				_, err := s.ConsumeCode(ctx, f.ID, []byte("h"), 5, t0.Add(time.Second))
				return err
			})
			if n := countNil(t, errs, storage.ErrConflict); n != 1 {
				t.Errorf("%d winners, want 1", n)
			}
		}},
		{"RecordWrongCode", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			f := storage.Flow{ID: "f1", Kind: storage.FlowLogin, CodeHash: []byte("h"), CodeSentAt: t0,
				CodeExpiresAt: later, SendCount: 1, CreatedAt: t0, ExpiresAt: later}
			if err := stores[0].CreateFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			const max = 3
			counts := make([]int, racers)
			errs := race(stores, racers, func(s *postgres.Store, i int) (err error) {
				counts[i], err = s.RecordWrongCode(ctx, f.ID, []byte("h"), max)
				return err
			})
			if n := countNil(t, errs, storage.ErrConflict); n != max {
				t.Errorf("%d tries counted, want %d", n, max)
			}
			var got []int
			for i, c := range counts {
				if errs[i] == nil {
					got = append(got, c)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, []int{1, 2, 3}) {
				t.Errorf("returned counts %v, want [1 2 3]", got)
			}
		}},
		{"ReplaceCode", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			f := storage.Flow{ID: "f1", Kind: storage.FlowLogin, CreatedAt: t0, ExpiresAt: later}
			if err := stores[0].CreateFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				sent := t0.Add(time.Duration(i+1) * time.Second)
				return s.ReplaceCode(ctx, f.ID, time.Time{}, fmt.Appendf(nil, "h%d", i), later, sent)
			})
			if n := countNil(t, errs, storage.ErrConflict); n != 1 {
				t.Errorf("%d resends, want 1", n)
			}
			got, err := stores[1].GetFlow(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.SendCount != 1 {
				t.Errorf("SendCount = %d, want 1", got.SendCount)
			}
		}},
		{"CompleteRegistration same flow", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			f := storage.Flow{ID: "f1", Kind: storage.FlowRegister, Phone: "+15550000001", CodeHash: []byte("h"),
				CodeSentAt: t0, CodeExpiresAt: later, SendCount: 1, CreatedAt: t0, ExpiresAt: later}
			if err := stores[0].CreateFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				u := storage.User{ID: fmt.Sprintf("u%d", i), Phone: f.Phone, Name: "N", PasswordHash: "p", CreatedAt: t0, UpdatedAt: t0}
				return s.CompleteRegistration(ctx, f.ID, []byte("h"), 5, t0.Add(time.Second), u)
			})
			if n := countNil(t, errs, storage.ErrConflict); n != 1 {
				t.Errorf("%d registrations, want 1", n)
			}
			for i, err := range errs {
				_, gerr := stores[0].GetUser(ctx, fmt.Sprintf("u%d", i))
				if (err == nil) != (gerr == nil) {
					t.Errorf("racer %d: CompleteRegistration = %v but GetUser = %v", i, err, gerr)
				}
			}
		}},
		{"CompleteRegistration same phone", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			for i := range racers {
				f := storage.Flow{ID: fmt.Sprintf("f%d", i), Kind: storage.FlowRegister, Phone: "+15550000001",
					CodeHash: []byte("h"), CodeSentAt: t0, CodeExpiresAt: later, SendCount: 1, CreatedAt: t0, ExpiresAt: later}
				if err := stores[0].CreateFlow(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				u := storage.User{ID: fmt.Sprintf("u%d", i), Phone: "+15550000001", Name: "N", PasswordHash: "p", CreatedAt: t0, UpdatedAt: t0}
				return s.CompleteRegistration(ctx, fmt.Sprintf("f%d", i), []byte("h"), 5, t0.Add(time.Second), u)
			})
			if n := countNil(t, errs, storage.ErrAlreadyExists); n != 1 {
				t.Errorf("%d registrations, want 1", n)
			}
			for i, err := range errs {
				f, gerr := stores[0].GetFlow(ctx, fmt.Sprintf("f%d", i))
				if gerr != nil {
					t.Fatal(gerr)
				}
				if spent := !f.CodeUsedAt.IsZero(); spent != (err == nil) {
					t.Errorf("racer %d: CompleteRegistration = %v, code spent = %v", i, err, spent)
				}
			}
		}},
		{"RotateRefreshToken", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			old := refreshToken("r0", "fam", t0, later)
			if err := stores[0].CreateRefreshToken(ctx, old); err != nil {
				t.Fatal(err)
			}
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				next := refreshToken(fmt.Sprintf("r%d", i+1), "fam", t0, later)
				at := storage.AccessToken{ID: fmt.Sprintf("a%d", i+1), FamilyID: "fam", ClientID: "c1", UserID: "u1", CreatedAt: t0, ExpiresAt: later}
				return s.RotateRefreshToken(ctx, old.ID, next, at, t0.Add(time.Second))
			})
			if n := countNil(t, errs, storage.ErrAlreadyUsed); n != 1 {
				t.Errorf("%d rotations, want 1", n)
			}
			for i, err := range errs {
				_, gerr := stores[0].GetRefreshTokenByHash(ctx, []byte(fmt.Sprintf("r%d", i+1)))
				_, aerr := stores[0].GetAccessToken(ctx, fmt.Sprintf("a%d", i+1))
				if (err == nil) != (gerr == nil) || (err == nil) != (aerr == nil) {
					t.Errorf("racer %d: Rotate = %v, but new refresh token: %v, access token: %v", i, err, gerr, aerr)
				}
			}
		}},
		{"Secret", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			got := make([][]byte, racers)
			errs := race(stores, racers, func(s *postgres.Store, i int) (err error) {
				got[i], err = s.Secret(ctx, "cookie", []byte{byte(i)})
				return err
			})
			if n := countNil(t, errs, nil); n != racers {
				t.Fatalf("%d of %d calls succeeded", n, racers)
			}
			for i := range got {
				if len(got[i]) != 1 || !slices.Equal(got[i], got[0]) {
					t.Errorf("racer %d got %v, racer 0 got %v", i, got[i], got[0])
				}
			}
		}},
		{"CreateSigningKey", func(t *testing.T, stores []*postgres.Store) {
			ctx := t.Context()
			errs := race(stores, racers, func(s *postgres.Store, i int) error {
				return s.CreateSigningKey(ctx, storage.SigningKey{ID: fmt.Sprintf("k%d", i), Algorithm: "RS256",
					Generation: 2, PrivateKey: []byte{1}, CreatedAt: t0, ActiveAt: later})
			})
			if n := countNil(t, errs, storage.ErrAlreadyExists); n != 1 {
				t.Errorf("%d keys created, want 1", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores, _ := newStores(t, 2)
			tt.run(t, stores)
		})
	}
}

func refreshToken(id, family string, created, expires time.Time) storage.RefreshToken {
	return storage.RefreshToken{ID: id, TokenHash: []byte(id), FamilyID: family, ClientID: "c1", UserID: "u1",
		Scopes: []string{"openid"}, CreatedAt: created, ExpiresAt: expires, IdleExpiresAt: expires}
}

// TestRevokeDuringRotation races a family revocation (reuse detected) with a rotation in the
// same family, on two instances: whichever wins, no token of the family is left unrevoked.
func TestRevokeDuringRotation(t *testing.T) {
	stores, _ := newStores(t, 2)
	ctx := t.Context()
	later := t0.Add(time.Hour)
	for round := range 30 {
		fam := fmt.Sprintf("fam%d", round)
		old := refreshToken(fam+"-r0", fam, t0, later)
		if err := stores[0].CreateRefreshToken(ctx, old); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Second)
		errs := race(stores, 2, func(s *postgres.Store, i int) error {
			if i == 0 {
				next := refreshToken(fam+"-r1", fam, t0, later)
				at := storage.AccessToken{ID: fam + "-a1", FamilyID: fam, ClientID: "c1", UserID: "u1", CreatedAt: t0, ExpiresAt: later}
				return s.RotateRefreshToken(ctx, old.ID, next, at, now)
			}
			return s.RevokeFamily(ctx, fam, now)
		})
		if errs[0] != nil && !errors.Is(errs[0], storage.ErrConflict) {
			t.Fatalf("round %d: Rotate = %v, want nil or ErrConflict", round, errs[0])
		}
		if errs[1] != nil {
			t.Fatalf("round %d: RevokeFamily = %v", round, errs[1])
		}
		var live int64
		err := postgres.Pool(stores[0]).QueryRow(ctx, `SELECT
            (SELECT count(*) FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL) +
            (SELECT count(*) FROM access_tokens WHERE family_id = $1 AND revoked_at IS NULL)`, fam).Scan(&live)
		if err != nil {
			t.Fatal(err)
		}
		if live != 0 {
			t.Fatalf("round %d: %d tokens of the revoked family still live (rotate: %v)", round, live, errs[0])
		}
	}
}

// TestRevokeUserDuringRotation is TestRevokeDuringRotation for RevokeUserTokens (a password
// change signs the user out everywhere while a client refreshes).
func TestRevokeUserDuringRotation(t *testing.T) {
	stores, _ := newStores(t, 2)
	ctx := t.Context()
	later := t0.Add(time.Hour)
	for round := range 30 {
		fam := fmt.Sprintf("fam%d", round)
		old := refreshToken(fam+"-r0", fam, t0, later)
		old.UserID = fmt.Sprintf("user%d", round)
		if err := stores[0].CreateRefreshToken(ctx, old); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Second)
		errs := race(stores, 2, func(s *postgres.Store, i int) error {
			if i == 0 {
				next := refreshToken(fam+"-r1", fam, t0, later)
				next.UserID = old.UserID
				at := storage.AccessToken{ID: fam + "-a1", FamilyID: fam, ClientID: "c1", UserID: old.UserID, CreatedAt: t0, ExpiresAt: later}
				return s.RotateRefreshToken(ctx, old.ID, next, at, now)
			}
			return s.RevokeUserTokens(ctx, old.UserID, "", now)
		})
		if errs[0] != nil && !errors.Is(errs[0], storage.ErrConflict) {
			t.Fatalf("round %d: Rotate = %v, want nil or ErrConflict", round, errs[0])
		}
		if errs[1] != nil {
			t.Fatalf("round %d: RevokeUserTokens = %v", round, errs[1])
		}
		var live int64
		err := postgres.Pool(stores[0]).QueryRow(ctx, `SELECT
            (SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL) +
            (SELECT count(*) FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL)`, old.UserID).Scan(&live)
		if err != nil {
			t.Fatal(err)
		}
		if live != 0 {
			t.Fatalf("round %d: %d tokens of the user still live (rotate: %v)", round, live, errs[0])
		}
	}
}
