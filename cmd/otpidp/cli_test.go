package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
)

// cli runs otpidp commands against one fresh database.
type cli struct {
	t     *testing.T
	env   map[string]string
	dbURL string
}

// newCLI returns a cli on a fresh, migrated SQLite file, in an empty working directory.
func newCLI(t *testing.T) *cli {
	t.Helper()
	c := newCLINoDatabase(t)
	c.store() // commands other than serve and migrate need the database to exist
	return c
}

// newCLINoDatabase is newCLI whose database file does not exist yet.
func newCLINoDatabase(t *testing.T) *cli {
	t.Helper()
	dir := inTempDir(t)
	u := "sqlite:" + filepath.Join(dir, "x.db")
	return &cli{t: t, dbURL: u, env: map[string]string{"OTPIDP_DATABASE_URL": u}}
}

type result struct {
	stdout, stderr string
	err            error
}

// run runs "otpidp args…" with stdin.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(c.t.Context(), append([]string{"otpidp"}, args...), mapEnv(c.env), strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), err}
}

// ok runs a command that must succeed and returns its standard output.
func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.err != nil {
		c.t.Fatalf("otpidp %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r.stdout
}

// listJSON returns client list --json.
func (c *cli) listJSON() []clientJSON {
	c.t.Helper()
	out := c.ok("", "client", "list", "--json")
	var cs []clientJSON
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		c.t.Fatalf("client list --json: %v\n%s", err, out)
	}
	return cs
}

// store opens the cli's database, migrated.
func (c *cli) store() storage.Storage {
	c.t.Helper()
	s, err := openMigratedStore(c.t.Context(), c.dbURL)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { s.Close() })
	return s
}

// wantUsageError checks that r failed with a usage error whose message, and the usage of
// the command, were printed on stderr.
func wantUsageError(t *testing.T, r result, msg, usage string) {
	t.Helper()
	var ue *usageError
	if !errors.As(r.err, &ue) {
		t.Fatalf("err = %v, want a *usageError\nstderr: %s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, msg) {
		t.Errorf("stderr lacks %q:\n%s", msg, r.stderr)
	}
	if !strings.Contains(r.stderr, usage) {
		t.Errorf("stderr lacks the usage %q:\n%s", usage, r.stderr)
	}
	if code := exitCode(r.err, &bytes.Buffer{}); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}

// field returns the value after "name:" on a line of out.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in:\n%s", name, out)
	return ""
}

func TestClientAddText(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "client", "add", "--name", "Shop", "--redirect-uri", "https://shop.example.com/callback")
	id, secret := field(t, out, "client_id"), field(t, out, "client_secret")
	if len(id) != 32 || len(secret) < 40 {
		t.Fatalf("client_id %q, client_secret %q: want a 32-character ID and a long secret", id, secret)
	}
	for _, want := range []string{
		"Store the client secret now: it is shown only this once",
		"discovery:     http://localhost:8080/.well-known/openid-configuration",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	list := c.ok("", "client", "list")
	if !strings.Contains(list, id) || !strings.Contains(list, "Shop") || !strings.Contains(list, "confidential") || !strings.Contains(list, "https://shop.example.com/callback") {
		t.Errorf("client list lacks the client:\n%s", list)
	}
	listJSON := c.ok("", "client", "list", "--json")
	for name, out := range map[string]string{"client list": list, "client list --json": listJSON} {
		// (client_secret_basic, the auth method, is no secret.)
		if strings.Contains(out, secret) || strings.Contains(out, `"client_secret"`) || strings.Contains(out, "client_secret:") {
			t.Errorf("%s shows the secret:\n%s", name, out)
		}
	}

	// Only a hash of the secret is stored.
	stored, err := c.store().GetClient(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.SecretHash) == 0 || bytes.Contains(stored.SecretHash, []byte(secret)) {
		t.Errorf("stored secret hash %x: want a hash, not the secret", stored.SecretHash)
	}
}

func TestClientAddJSON(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "client", "add", "--json", "--name", "  Mobile  ", "--public", "--first-party",
		"--redirect-uri", "com.example.app:/cb", "--redirect-uri", "http://127.0.0.1:7000/cb",
		"--post-logout-redirect-uri", "https://example.com/bye",
		"--grant", "authorization_code", "--access-token", "jwt")
	var got clientJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.ClientID == "" {
		t.Fatalf("no client_id in %s", out)
	}
	want := clientJSON{
		ClientID:               got.ClientID,
		Name:                   "Mobile",
		RedirectURIs:           []string{"com.example.app:/cb", "http://127.0.0.1:7000/cb"},
		PostLogoutRedirectURIs: []string{"https://example.com/bye"},
		Public:                 true,
		FirstParty:             true,
		GrantTypes:             []string{"authorization_code"},
		AccessTokenFormat:      "jwt",
		AuthMethod:             "none",
		IDTokenAlg:             "RS256",
		Issuer:                 "http://localhost:8080",
		Discovery:              "http://localhost:8080/.well-known/openid-configuration",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("client add --json (-want +got):\n%s", diff)
	}
	if strings.Contains(out, "client_secret") {
		t.Errorf("a public client has no secret:\n%s", out)
	}

	// A confidential client's secret is in the JSON, with the defaults filled in.
	out = c.ok("", "client", "add", "--json", "--name", "Web", "--redirect-uri", "https://web.example.com/cb", "--grant", "authorization_code,refresh_token")
	var conf map[string]any
	if err := json.Unmarshal([]byte(out), &conf); err != nil {
		t.Fatal(err)
	}
	if s, _ := conf["client_secret"].(string); len(s) < 40 {
		t.Errorf("client_secret = %v, want the secret", conf["client_secret"])
	}
	if diff := cmp.Diff([]any{"authorization_code", "refresh_token"}, conf["grant_types"]); diff != "" {
		t.Errorf("grant_types (-want +got):\n%s", diff)
	}
	if conf["access_token_format"] != "opaque" || conf["public"] != false {
		t.Errorf("access_token_format %v, public %v; want opaque, false", conf["access_token_format"], conf["public"])
	}
	if pl, ok := conf["post_logout_redirect_uris"].([]any); !ok || len(pl) != 0 {
		t.Errorf("post_logout_redirect_uris = %#v, want []", conf["post_logout_redirect_uris"])
	}

	list := c.listJSON()
	if len(list) != 2 || list[0].ClientID != got.ClientID || list[0].Name != "Mobile" || list[0].CreatedAt.IsZero() || list[1].Name != "Web" {
		t.Errorf("client list --json = %+v, want Mobile then Web", list)
	}
}

func TestClientAddRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no redirect URI", []string{"--name", "A"}, "at least one redirect URI is required"},
		{"no name", []string{"--redirect-uri", "https://a.example.com/cb"}, "a name is required"},
		{"http on a public host", []string{"--name", "A", "--redirect-uri", "http://a.example.com/cb"}, "http is only allowed for loopback addresses"},
		{"fragment", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb#x"}, "must not contain a fragment"},
		{"custom scheme for a confidential client", []string{"--name", "A", "--redirect-uri", "com.example.app:/cb"}, "custom schemes are only for public"},
		{"bad post-logout URI", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "--post-logout-redirect-uri", "/bye"}, `post-logout redirect URI "/bye": not an absolute URI`},
		{"bad grant", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "--grant", "password"}, `grant type "password" is not supported`},
		{"refresh without code", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "--grant", "refresh_token"}, "the authorization_code grant is required"},
		{"empty grant", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "--grant", "authorization_code,"}, "empty value in list"},
		{"bad access token format", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "--access-token", "paseto"}, `access token format "paseto" is not one of opaque, jwt`},
		{"bad ID token algorithm", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "--id-token-alg", "HS256"}, `ID token algorithm "HS256" is not one of RS256, ES256, EdDSA`},
		{"ID token algorithm for a service", []string{"--name", "A", "--grant", "client_credentials", "--scope", "x", "--id-token-alg", "ES256"}, "a client_credentials client gets no ID tokens"},
		{"device grant for a service", []string{"--name", "A", "--grant", "client_credentials,urn:ietf:params:oauth:grant-type:device_code", "--scope", "x", "--public"}, "the client_credentials grant is for confidential clients only"},
		{"unknown flag", []string{"--name", "A", "--secret", "s"}, "flag provided but not defined: -secret"},
		{"positional argument", []string{"--name", "A", "--redirect-uri", "https://a.example.com/cb", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			r := c.run("", append([]string{"client", "add"}, tt.args...)...)
			wantUsageError(t, r, tt.want, "Usage: otpidp client add")
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if cs := c.listJSON(); len(cs) != 0 {
				t.Errorf("a refused client was stored: %+v", cs)
			}
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		c := newCLI(t)
		r := c.run("", "client", "add", "--redirect-uri", "http://a.example.com/cb", "--grant", "implicit")
		wantUsageError(t, r, "a name is required", "Usage: otpidp client add")
		for _, want := range []string{"http is only allowed", `grant type "implicit"`} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})
}

func TestClientRemove(t *testing.T) {
	c := newCLI(t)
	keep := field(t, c.ok("", "client", "add", "--name", "Keep", "--redirect-uri", "https://k.example.com/cb"), "client_id")
	gone := field(t, c.ok("", "client", "add", "--name", "Gone", "--redirect-uri", "https://g.example.com/cb"), "client_id")

	// Flags may follow the ID.
	out := c.ok("", "client", "remove", gone, "--database-url", c.dbURL)
	if !strings.Contains(out, "Removed client "+gone) {
		t.Errorf("output = %q", out)
	}
	list := c.listJSON()
	if len(list) != 1 || list[0].ClientID != keep {
		t.Errorf("after remove, clients = %+v, want only %s", list, keep)
	}

	r := c.run("", "client", "remove", gone)
	var ue *usageError
	if r.err == nil || errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), `no client with ID "`+gone+`"`) {
		t.Errorf("removing an unknown client: err = %v, want a plain error naming the ID", r.err)
	}
	var stderr bytes.Buffer
	if code := exitCode(r.err, &stderr); code != 1 || !strings.Contains(stderr.String(), "no client with ID") {
		t.Errorf("exit code %d, stderr %q; want 1 and the message", code, stderr.String())
	}

	wantUsageError(t, c.run("", "client", "remove"), "the client ID is missing", "Usage: otpidp client remove ID")
	wantUsageError(t, c.run("", "client", "remove", keep, gone), `unexpected argument "`+gone+`"`, "Usage: otpidp client remove ID")
	if len(c.listJSON()) != 1 {
		t.Error("a refused remove removed something")
	}
}

func TestClientListEmpty(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("", "client", "list"); !strings.Contains(out, "No clients") {
		t.Errorf("client list = %q", out)
	}
	if out := strings.TrimSpace(c.ok("", "client", "list", "--json")); out != "[]" {
		t.Errorf("client list --json = %q, want []", out)
	}
}

const (
	cliPhone    = "+447400123456" // a GB mobile
	cliPassword = "correct horse battery staple"
)

func TestUserAdd(t *testing.T) {
	c := newCLI(t)
	out := c.ok(cliPassword+"\nsecond line is ignored\n", "user", "add", "--phone", cliPhone, "--name", "Ada Lovelace")
	if !strings.Contains(out, "Created user") || !strings.Contains(out, "Ada Lovelace") || !strings.Contains(out, "phone verified") {
		t.Errorf("output = %q", out)
	}
	u, err := c.store().GetUserByPhone(t.Context(), cliPhone)
	if err != nil {
		t.Fatalf("the user was not stored: %v", err)
	}
	if u.Name != "Ada Lovelace" || !u.PhoneVerified {
		t.Errorf("stored user = %+v, want the name and a verified phone", u)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(u.PasswordHash, cliPassword) {
		t.Errorf("password hash %q: want argon2id", u.PasswordHash)
	}
	if strings.Contains(out, cliPassword) {
		t.Error("the password was printed")
	}

	// National input in the configured region; a CRLF line ending is not part of the password.
	c.ok(cliPassword+"\r\n", "user", "add", "--phone", "07400 654321", "--name", "Grace", "--default-region", "GB")
	if _, err := c.store().GetUserByPhone(t.Context(), "+447400654321"); err != nil {
		t.Errorf("national number with --default-region GB: %v", err)
	}
}

func TestUserAddRefusals(t *testing.T) {
	const usage = "Usage: otpidp user add"
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no stdin", "", []string{"--phone", cliPhone, "--name", "A B"}, "the password is empty"},
		{"empty first line", "\n" + cliPassword + "\n", []string{"--phone", cliPhone, "--name", "A B"}, "the password is empty"},
		{"too long", strings.Repeat("x", auth.MaxPasswordBytes+1) + "\n", []string{"--phone", cliPhone, "--name", "A B"}, "the password is longer than"},
		{"too short", "short\n", []string{"--phone", cliPhone, "--name", "A B"}, "the password is refused: Use at least"},
		{"password is the name", "Ada Lovelace\n", []string{"--phone", cliPhone, "--name", "Ada Lovelace"}, "the password is refused: Your password cannot be your name"},
		{"invalid phone", cliPassword + "\n", []string{"--phone", "12", "--name", "A B"}, `--phone "12" is not a phone number`},
		{"letters in phone", cliPassword + "\n", []string{"--phone", "+44 call me", "--name", "A B"}, "is not a phone number"},
		{"landline", cliPassword + "\n", []string{"--phone", "+441212345678", "--name", "A B"}, "cannot receive SMS"},
		{"name with control characters", cliPassword + "\n", []string{"--phone", cliPhone, "--name", "A\x07B"}, "--name is refused"},
		{"no phone", cliPassword + "\n", []string{"--name", "A B"}, "--phone is required"},
		{"no name", cliPassword + "\n", []string{"--phone", cliPhone}, "--name is required"},
		{"positional argument", cliPassword + "\n", []string{"--phone", cliPhone, "--name", "A", "B"}, `unexpected argument "B"`},
		{"password as a flag", cliPassword + "\n", []string{"--phone", cliPhone, "--name", "A B", "--password", "x"}, "flag provided but not defined: -password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			r := c.run(tt.stdin, append([]string{"user", "add"}, tt.args...)...)
			wantUsageError(t, r, tt.want, usage)
			if strings.Contains(r.stderr, cliPassword) {
				t.Error("the password was printed")
			}
			if _, err := c.store().GetUserByPhone(t.Context(), cliPhone); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a refused user was stored (err = %v)", err)
			}
		})
	}

	t.Run("duplicate phone", func(t *testing.T) {
		c := newCLI(t)
		c.ok(cliPassword+"\n", "user", "add", "--phone", cliPhone, "--name", "First")
		r := c.run(cliPassword+"\n", "user", "add", "--phone", "+44 7400 123456", "--name", "Second")
		var ue *usageError
		if r.err == nil || errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), "exists already") {
			t.Fatalf("err = %v, want a plain error saying the user exists", r.err)
		}
		if code := exitCode(r.err, &bytes.Buffer{}); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		if u, err := c.store().GetUserByPhone(t.Context(), cliPhone); err != nil || u.Name != "First" {
			t.Errorf("user = %+v, %v; want First unchanged", u, err)
		}
	})
}

func TestReadPassword(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"pw\n", "pw", true},
		{"pw", "pw", true},
		{"pw\r\n", "pw", true},
		{" spaced out \n", " spaced out ", true},
		{"first\nsecond\n", "first", true},
		{strings.Repeat("p", auth.MaxPasswordBytes) + "\r\n", strings.Repeat("p", auth.MaxPasswordBytes), true},
		{strings.Repeat("p", auth.MaxPasswordBytes+1), "", false},
		{strings.Repeat("p", 10*auth.MaxPasswordBytes) + "\n", "", false},
		{"", "", false},
		{"\n", "", false},
		{"\r\n", "", false},
	}
	for _, tt := range tests {
		got, err := readPassword(strings.NewReader(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			short := tt.in
			if len(short) > 20 {
				short = short[:20] + "…"
			}
			t.Errorf("readPassword(%q) = %q, %v; want %q, ok=%v", short, got, err, tt.want, tt.ok)
		}
	}
}

func TestMigrateTwice(t *testing.T) {
	c := newCLI(t)
	for range 2 {
		out := c.ok("", "migrate")
		if !strings.Contains(out, "is up to date") {
			t.Errorf("migrate output = %q", out)
		}
	}
	// The schema is there: a client can be stored.
	c.ok("", "client", "add", "--name", "A", "--redirect-uri", "https://a.example.com/cb")
	wantUsageError(t, c.run("", "migrate", "now"), `unexpected argument "now"`, "Usage: otpidp migrate")
}

func TestUsage(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := c.run("", args...)
		if r.err != nil || !strings.Contains(r.stdout, "Usage: otpidp [COMMAND]") || !strings.Contains(r.stdout, "client add") {
			t.Errorf("otpidp %v: err %v, stdout %q", args, r.err, r.stdout)
		}
	}
	for _, args := range [][]string{{"serve", "-h"}, {"migrate", "-h"}, {"client", "add", "-h"}, {"client", "list", "--help"}, {"client", "remove", "-h"}, {"user", "add", "-h"}} {
		r := c.run("", args...)
		if r.err != nil || !strings.Contains(r.stderr, "Usage: otpidp") || !strings.Contains(r.stderr, "-database-url") {
			t.Errorf("otpidp %v: err %v, stderr %q; want the command's usage", args, r.err, r.stderr)
		}
	}

	tests := []struct {
		args      []string
		msg, want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "Usage: otpidp [COMMAND]"},
		{[]string{"client"}, "needs a subcommand: add, list, remove, update or rotate-secret", "Usage: otpidp [COMMAND]"},
		{[]string{"client", "delete", "x"}, `unknown command "client delete"`, "Usage: otpidp [COMMAND]"},
		{[]string{"user"}, "needs a subcommand: add", "Usage: otpidp [COMMAND]"},
		{[]string{"user", "remove"}, `unknown command "user remove"`, "Usage: otpidp [COMMAND]"},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag", "Usage: otpidp [serve]"},
		{[]string{"serve", "--twilio-auth-token=x"}, "flag provided but not defined", "Usage: otpidp [serve]"},
		{[]string{"serve", "--dev=perhaps"}, "must be true or false", "Usage: otpidp [serve]"},
		{[]string{"migrate", "--issuer", "x"}, "flag provided but not defined: -issuer", "Usage: otpidp migrate"},
		{[]string{"client", "list", "--all"}, "flag provided but not defined: -all", "Usage: otpidp client list"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			wantUsageError(t, c.run("", tt.args...), tt.msg, tt.want)
		})
	}
}

// TestCommandsRefuseBadConfiguration: every command validates the whole configuration before
// touching the database.
func TestCommandsRefuseBadConfiguration(t *testing.T) {
	c := newCLI(t)
	c.env["OTPIDP_LOG_LEVEL"] = "chatty"
	c.env["OTPIDP_DATABASE_URL"] = "mysql://db/x"
	for _, args := range [][]string{
		{"serve"},
		{"migrate"},
		{"client", "list"},
		{"client", "add", "--name", "A", "--redirect-uri", "https://a.example.com/cb"},
		{"client", "remove", "x"},
		{"user", "add", "--phone", cliPhone, "--name", "A B"},
	} {
		r := c.run(cliPassword+"\n", args...)
		var ce *configError
		if !errors.As(r.err, &ce) || !strings.Contains(r.err.Error(), "OTPIDP_LOG_LEVEL") || !strings.Contains(r.err.Error(), "OTPIDP_DATABASE_URL") {
			t.Errorf("otpidp %v: err = %v, want a configError listing both problems", args, r.err)
		}
	}
	if _, err := os.Stat("otpidp.db"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database file was created: %v", err)
	}
	// --database-url overrides the environment.
	delete(c.env, "OTPIDP_LOG_LEVEL")
	c.ok("", "migrate", "--database-url", c.dbURL)
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, 0, ""},
		{"usage error, already printed", &usageError{msg: "bad flag"}, 2, ""},
		{"configuration error", &configError{Problems: []string{"p1", "p2"}}, 2, "otpidp: invalid configuration:\n  - p1\n  - p2\n"},
		{"wrapped usage error", errors.Join(errors.New("x"), &usageError{msg: "m"}), 2, ""},
		{"other error", errors.New("database down"), 1, "otpidp: database down\n"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := exitCode(tt.err, &stderr); code != tt.code || stderr.String() != tt.stderr {
			t.Errorf("%s: exitCode = %d, stderr %q; want %d, %q", tt.name, code, stderr.String(), tt.code, tt.stderr)
		}
	}
}

// TestStoreOpenFailures: a database that cannot be opened is a plain error that says which.
func TestStoreOpenFailures(t *testing.T) {
	dir := t.TempDir()
	_, err := openStore(t.Context(), "sqlite:"+filepath.Join(dir, "no", "such", "dir", "x.db"))
	if err == nil || !strings.Contains(err.Error(), "open SQLite database") {
		t.Errorf("missing directory: err = %v", err)
	}
	_, err = openStore(t.Context(), "mysql://x")
	if err == nil || !strings.Contains(err.Error(), "must be sqlite:PATH") {
		t.Errorf("bad URL: err = %v", err)
	}
}

// TestPostgres runs migrate, client add, list and remove against PostgreSQL when
// OTPIDP_TEST_DATABASE_URL is set (CI sets it to a fresh database), in a schema of its own.
func TestPostgres(t *testing.T) {
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not: the PostgreSQL tests must run in CI")
		}
		t.Skip("OTPIDP_TEST_DATABASE_URL is not set")
	}
	b := make([]byte, 8)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	c := newCLI(t)
	c.dbURL = pgtest.SchemaURL(t, base, "cli_")
	c.env["OTPIDP_DATABASE_URL"] = c.dbURL
	name := "cli-test-" + suffix

	c.ok("", "migrate")
	c.ok("", "migrate")
	id := field(t, c.ok("", "client", "add", "--name", name, "--redirect-uri", "https://pg.example.com/cb"), "client_id")
	list := c.listJSON()
	if len(list) != 1 || list[0].ClientID != id || list[0].Name != name {
		t.Errorf("client list = %+v, want only %s (%s)", list, id, name)
	}
	c.ok("", "client", "remove", id)
	if list := c.listJSON(); len(list) != 0 {
		t.Errorf("client list after remove = %+v, want none", list)
	}
	conn, err := pgx.Connect(t.Context(), c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n == 0 {
		t.Errorf("migrations in the test schema: %d, %v", n, err)
	}
}

// TestClientListProfiles: client list shows each client's grants, token endpoint auth method,
// scopes allowlist, ID token algorithm and jwks_uri, in text and JSON, and never a secret.
func TestClientListProfiles(t *testing.T) {
	c := newCLI(t)
	web := c.ok("", "client", "add", "--name", "Web", "--redirect-uri", "https://web.example.com/cb", "--id-token-alg", "ES256")
	secret := field(t, web, "client_secret")
	c.ok("", "client", "add", "--name", "Billing", "--grant", "client_credentials", "--scope", "orders:read orders:write",
		"--jwks-uri", "https://billing.example.com/jwks.json")
	c.ok("", "client", "add", "--name", "TV", "--public", "--grant", "urn:ietf:params:oauth:grant-type:device_code,refresh_token")

	type row struct{ Name, Auth, Alg, JWKSURI, Grants, Scopes string }
	var got []row
	for _, l := range c.listJSON() {
		got = append(got, row{l.Name, l.AuthMethod, l.IDTokenAlg, l.JWKSURI, strings.Join(l.GrantTypes, ","), strings.Join(l.Scopes, " ")})
	}
	want := []row{
		{"Web", "client_secret_basic", "ES256", "", "authorization_code,refresh_token", ""},
		{"Billing", "private_key_jwt", "", "https://billing.example.com/jwks.json", "client_credentials", "orders:read orders:write"},
		{"TV", "none", "RS256", "", "urn:ietf:params:oauth:grant-type:device_code,refresh_token", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("client list --json (-want +got):\n%s", diff)
	}

	text := c.ok("", "client", "list")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 4 {
		t.Fatalf("client list: want a header and 3 rows:\n%s", text)
	}
	for _, w := range []string{"GRANTS", "AUTH METHOD", "SCOPES", "ID TOKEN ALG", "JWKS URI"} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("client list header lacks %q: %s", w, lines[0])
		}
	}
	for i, words := range [][]string{
		{"Web", "client_secret_basic", "ES256", "https://web.example.com/cb"},
		{"Billing", "client_credentials", "private_key_jwt", "orders:read orders:write", "https://billing.example.com/jwks.json"},
		{"TV", "public", "none", "RS256", "urn:ietf:params:oauth:grant-type:device_code,refresh_token"},
	} {
		for _, w := range words {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("client list row %d lacks %q: %s", i+1, w, lines[i+1])
			}
		}
	}
	for name, out := range map[string]string{"client list": text, "client list --json": c.ok("", "client", "list", "--json")} {
		if strings.Contains(out, secret) || strings.Contains(out, `"client_secret"`) {
			t.Errorf("%s shows a secret:\n%s", name, out)
		}
	}
}
