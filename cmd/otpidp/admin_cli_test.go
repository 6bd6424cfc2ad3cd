package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// The operator's commands, run through run() against the database of a running server, on
// SQLite and (with OTPIDP_TEST_DATABASE_URL) PostgreSQL.

// adminStores returns, per backend, a running server and a cli on the same database.
func adminStores(t *testing.T) map[string]func(t *testing.T) (*testServer, *cli) {
	m := map[string]func(t *testing.T) (*testServer, *cli){
		"sqlite": func(t *testing.T) (*testServer, *cli) {
			dir := inTempDir(t)
			path := filepath.Join(dir, "otpidp.db")
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			ts := startServer(t, s)
			u := "sqlite:" + path
			return ts, &cli{t: t, dbURL: u, env: map[string]string{"OTPIDP_DATABASE_URL": u}}
		},
	}
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not: the PostgreSQL tests must run in CI")
		}
		return m
	}
	m["postgres"] = func(t *testing.T) (*testServer, *cli) {
		inTempDir(t)
		u := pgtest.SchemaURL(t, base, "adm_")
		s, err := postgres.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ts := startServer(t, s)
		return ts, &cli{t: t, dbURL: u, env: map[string]string{"OTPIDP_DATABASE_URL": u}}
	}
	return m
}

// auditEvents returns "event detail" of every audit event, from otpidp audit --json.
func (c *cli) auditEvents() []string {
	c.t.Helper()
	var out []string
	for line := range strings.Lines(c.ok("", "audit", "--json")) {
		var e auditJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			c.t.Fatalf("audit --json line %q: %v", line, err)
		}
		out = append(out, strings.TrimSpace(e.Event+" "+e.Detail))
	}
	return out
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("the audit log lacks %q; it has:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// passwordStep submits the sign-in form of a fresh authorization and returns the answer.
func passwordStep(t *testing.T, rp *relyingParty, password string) response {
	t.Helper()
	b := newBrowser(t)
	login := b.get(rp.start().url)
	if login.url.Path != "/login" {
		t.Fatalf("authorize: %d %s", login.status, login.url)
	}
	return b.submit(login, "/login", map[string]string{"phone": testPhone, "password": password})
}

// withoutRequestID hides the authorization request's ID, which differs between two sign-ins.
func withoutRequestID(page string) string {
	return authRequestIDRE.ReplaceAllString(page, "authRequestID=ID")
}

var authRequestIDRE = regexp.MustCompile(`authRequestID(=|" value=")[0-9a-f]+`)

var cliCodeRE = regexp.MustCompile(`(?m)^([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$`)

// TestUserAdminCommands: a user created by the operator gets recovery codes and resets a
// forgotten password; disabled, it is refused at the password step like a wrong password with
// no text sent, and its sessions and tokens end; enabled, it signs in; deleted, it cannot sign
// in, its tokens are inactive, and its number registers again as a new sub. Every action is in
// the audit log as the operator's.
func TestUserAdminCommands(t *testing.T) {
	for name, open := range adminStores(t) {
		t.Run(name, func(t *testing.T) {
			ts, c := open(t)
			rp := registerRP(t, ts, false)
			c.ok(testPassword+"\n", "user", "add", "--phone", testPhone, "--name", testName)

			var users []userJSON
			if err := json.Unmarshal([]byte(c.ok("", "user", "list", "--json")), &users); err != nil || len(users) != 1 {
				t.Fatalf("user list --json: %v, %+v", err, users)
			}
			id := users[0].ID
			if users[0].Phone != testPhone || users[0].Disabled {
				t.Fatalf("listed user = %+v", users[0])
			}
			show := c.ok("", "user", "show", testPhone)
			for _, w := range []string{id, testName, "recovery codes left:  0", "active"} {
				if !strings.Contains(show, w) {
					t.Errorf("user show lacks %q:\n%s", w, show)
				}
			}
			if strings.Contains(show, "argon2") {
				t.Errorf("user show prints the password hash:\n%s", show)
			}

			// The operator's user has no recovery codes, so it cannot reset a forgotten
			// password; user recovery-codes gives it a set, which works.
			out := c.ok("", "user", "recovery-codes", id)
			codes := cliCodeRE.FindAllString(out, -1)
			if len(codes) != 10 {
				t.Fatalf("user recovery-codes printed %d codes, want 10:\n%s", len(codes), out)
			}
			rb := newBrowser(t)
			verify := startReset(t, ts, rb, testPhone)
			pw := rb.submit(verify, "/forgot/verify", map[string]string{"code": ts.sms.lastCode(t, testPhone), "recovery_code": codes[0]})
			if pw.url.Path != "/forgot/password" {
				t.Fatalf("reset with an operator's recovery code: %d %s\n%s", pw.status, pw.url, pw.body)
			}
			const newPassword = "a freshly reset passphrase"
			if end := rb.submit(pw, "/forgot/password", map[string]string{"password": newPassword, "password_confirm": newPassword}); end.url.Path != "/login" {
				t.Fatalf("after the reset: %d %s", end.status, end.url)
			}

			b := newBrowser(t)
			a := rp.start()
			tok, idt, err := rp.exchange(t, codeFrom(t, pastRecoveryCodes(t, b, signIn(t, ts, b, a, newPassword)), a), a)
			if err != nil {
				t.Fatal(err)
			}
			if idt.Subject != id {
				t.Fatalf("sub = %q, want the user's ID %q", idt.Subject, id)
			}

			// Disabled: refused like a wrong password, no text; sessions and tokens end.
			wrong := passwordStep(t, rp, "not the password at all")
			pending := newBrowser(t) // a sign-in at its code step when the user is disabled
			pendingCode := pending.submit(pending.get(rp.start().url), "/login", map[string]string{"phone": testPhone, "password": newPassword})
			if pendingCode.url.Path != "/code" {
				t.Fatalf("sign-in: %d %s", pendingCode.status, pendingCode.url)
			}
			sent := ts.sms.count()
			c.ok("", "user", "disable", id)
			if r := pending.submit(pendingCode, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)}); r.location != "" || sessionCookie(pending, ts.issuer) != "" {
				t.Errorf("a sign-in past its password step finished after the disable: %d %s %s", r.status, r.url, r.location)
			}
			refused := passwordStep(t, rp, newPassword)
			if got, want := withoutRequestID(normalized(refused, testPhone)), withoutRequestID(normalized(wrong, testPhone)); refused.url.Path != "/login" || got != want {
				t.Errorf("a disabled user's right password is answered unlike a wrong one:\n%s\n---\n%s", got, want)
			}
			if n := ts.sms.count(); n != sent {
				t.Errorf("%d texts sent to a disabled user", n-sent)
			}
			if acct := b.get(ts.issuer + "/account"); acct.url.Path != "/login" {
				t.Errorf("a disabled user's session still reaches %s", acct.url)
			}
			if in := rp.introspect(t, ts, tok.AccessToken); in["active"] != false {
				t.Errorf("a disabled user's access token is active: %v", in)
			}
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Hour)
			if _, err := rp.oauth.TokenSource(t.Context(), &expired).Token(); err == nil {
				t.Error("a disabled user's refresh token still works")
			}
			if !strings.Contains(c.ok("", "user", "list", "--disabled"), id) || strings.Contains(c.ok("", "user", "list", "--enabled"), id) {
				t.Error("user list --disabled/--enabled do not agree with the disable")
			}

			// Enabled: signs in again.
			c.ok("", "user", "enable", id)
			b = newBrowser(t)
			a = rp.start()
			tok, _, err = rp.exchange(t, codeFrom(t, pastRecoveryCodes(t, b, signIn(t, ts, b, a, newPassword)), a), a)
			if err != nil {
				t.Fatalf("sign-in after enable: %v", err)
			}

			// Delete needs --yes; then the account is gone for good.
			wantUsageError(t, c.run("", "user", "delete", id), "add --yes", "Usage: otpidp user")
			c.ok("", "user", "delete", id, "--yes")
			sent = ts.sms.count()
			if r := passwordStep(t, rp, newPassword); r.url.Path != "/login" || ts.sms.count() != sent {
				t.Errorf("a deleted user's sign-in: %d %s, %d texts", r.status, r.url, ts.sms.count()-sent)
			}
			if in := rp.introspect(t, ts, tok.AccessToken); in["active"] != false {
				t.Errorf("a deleted user's access token is active: %v", in)
			}
			if acct := b.get(ts.issuer + "/account"); acct.url.Path != "/login" {
				t.Errorf("a deleted user's session still reaches %s", acct.url)
			}
			if r := c.run("", "user", "show", id); r.err == nil || !strings.Contains(r.err.Error(), "was deleted") {
				t.Errorf("user show of a deleted user: %v", r.err)
			}
			if _, err := ts.store.GetUserByPhone(t.Context(), testPhone); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the number is still stored: %v", err)
			}
			// The number registers again, as a new sub.
			nb := newBrowser(t)
			a = rp.start()
			_, idt2, err := rp.exchange(t, codeFrom(t, register(t, ts, nb, a), a), a)
			if err != nil {
				t.Fatal(err)
			}
			if idt2.Subject == id || idt2.Subject == "" {
				t.Errorf("the re-registered number got sub %q, the deleted user's was %q", idt2.Subject, id)
			}

			wantEvents(t, c.auditEvents(), "user.added operator", "recovery_codes.issued operator", "user.disabled operator",
				"user.enabled operator", "user.deleted operator", "password.failed account_disabled")
		})
	}
}

// TestClientAndSessionCommands: client update keeps the secret; rotate-secret makes the old one
// fail; session list and end; and every operator action of those, of keys and of sms, is in
// the audit log.
func TestClientAndSessionCommands(t *testing.T) {
	for name, open := range adminStores(t) {
		t.Run(name, func(t *testing.T) {
			ts, c := open(t)
			out := c.ok("", "client", "add", "--name", "Shop", "--redirect-uri", rpRedirect, "--post-logout-redirect-uri", rpLoggedOut, "--first-party")
			id, secret := field(t, out, "client_id"), field(t, out, "client_secret")

			var upd clientJSON
			if err := json.Unmarshal([]byte(c.ok("", "client", "update", id, "--name", "Shop 2", "--redirect-uri", rpRedirect, "--redirect-uri", "https://shop.example.com/cb", "--json")), &upd); err != nil {
				t.Fatal(err)
			}
			if upd.Name != "Shop 2" || len(upd.RedirectURIs) != 2 || !upd.FirstParty || upd.PostLogoutRedirectURIs[0] != rpLoggedOut {
				t.Errorf("after client update: %+v", upd)
			}
			wantUsageError(t, c.run("", "client", "update", id, "--redirect-uri", "http://example.com/cb"), "http is only allowed for loopback", "Usage: otpidp client update")
			wantUsageError(t, c.run("", "client", "update", id), "nothing to change", "Usage: otpidp client update")
			if r := c.run("", "client", "update", "nope", "--name", "X"); r.err == nil || !strings.Contains(r.err.Error(), `no client with ID "nope"`) {
				t.Errorf("client update of an unknown client: %v", r.err)
			}
			for _, l := range c.listJSON() {
				if l.ClientID == id && (l.Name != "Shop 2" || len(l.RedirectURIs) != 2) {
					t.Errorf("a refused update changed the client: %+v", l)
				}
			}

			// The secret survives the update: the relying party signs in with it.
			rp := rpFor(t, ts, id, secret)
			b := newBrowser(t)
			a := rp.start()
			tok, _, err := rp.exchange(t, codeFrom(t, register(t, ts, b, a), a), a)
			if err != nil {
				t.Fatalf("the secret stopped working after client update: %v", err)
			}

			// rotate-secret: the old secret is refused (once the server's client cache has
			// expired), the new one works.
			rotated := c.ok("", "client", "rotate-secret", id)
			newSecret := field(t, rotated, "client_secret")
			if newSecret == secret || len(newSecret) < 40 {
				t.Fatalf("rotate-secret printed %q", newSecret)
			}
			ts.clock.advance(10 * time.Second)
			if status := introspectStatus(t, ts, id, secret, tok.AccessToken); status != http.StatusUnauthorized {
				t.Errorf("introspection with the old secret: %d, want 401", status)
			}
			if status := introspectStatus(t, ts, id, newSecret, tok.AccessToken); status != http.StatusOK {
				t.Errorf("introspection with the new secret: %d, want 200", status)
			}
			pub := c.ok("", "client", "add", "--name", "App", "--public", "--redirect-uri", "http://127.0.0.1/cb")
			if r := c.run("", "client", "rotate-secret", field(t, pub, "client_id")); r.err == nil || !strings.Contains(r.err.Error(), "has no secret") {
				t.Errorf("rotate-secret of a public client: %v", r.err)
			}

			// Sessions: listed per user, ended by ID.
			u, err := ts.store.GetUserByPhone(t.Context(), testPhone)
			if err != nil {
				t.Fatal(err)
			}
			var sessions []sessionJSON
			if err := json.Unmarshal([]byte(c.ok("", "session", "list", "--user", u.ID, "--json")), &sessions); err != nil || len(sessions) != 1 {
				t.Fatalf("session list --user: %v %+v", err, sessions)
			}
			if all := c.ok("", "session", "list"); !strings.Contains(all, sessions[0].ID) {
				t.Errorf("session list lacks %s:\n%s", sessions[0].ID, all)
			}
			c.ok("", "session", "end", sessions[0].ID)
			if acct := b.get(ts.issuer + "/account"); acct.url.Path != "/login" {
				t.Errorf("an ended session still reaches %s", acct.url)
			}
			if r := c.run("", "session", "end", sessions[0].ID); r.err == nil || !strings.Contains(r.err.Error(), "no session") {
				t.Errorf("ending an ended session: %v", r.err)
			}
			wantUsageError(t, c.run("", "session", "end"), "needs a SESSION_ID or --user", "Usage: otpidp session")
			c.ok("", "session", "end", "--user", testPhone)

			c.ok("", "keys", "rotate")
			c.ok("", "sms", "pause")
			c.ok("", "sms", "resume")
			c.ok("", "client", "remove", id)
			wantEvents(t, c.auditEvents(), "client.added operator", "client.updated operator", "client.secret_rotated operator",
				"client.removed operator", "session.ended operator", "session.ended operator: all", "key.rotated operator",
				"sms.paused operator", "sms.resumed operator")
		})
	}
}

// rpFor is a relying party for a client registered by the command line.
func rpFor(t *testing.T, ts *testServer, id, secret string) *relyingParty {
	t.Helper()
	rp := registerRP(t, ts, false) // the discovery and verifier, for another client
	rp.id, rp.secret = id, secret
	rp.oauth.ClientID, rp.oauth.ClientSecret = id, secret
	rp.verifier = rp.provider.Verifier(&oidc.Config{ClientID: id})
	return rp
}

func introspectStatus(t *testing.T, ts *testServer, id, secret, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMissingDatabaseRefused: a command other than serve and migrate refuses an SQLite file
// that does not exist, and creates none; migrate creates it.
func TestMissingDatabaseRefused(t *testing.T) {
	c := newCLINoDatabase(t)
	path := strings.TrimPrefix(c.dbURL, "sqlite:")
	for _, args := range [][]string{
		{"client", "list"}, {"user", "list"}, {"session", "list"}, {"audit"}, {"sms", "stats"}, {"keys", "list"},
		{"client", "add", "--name", "A", "--redirect-uri", "https://a.example.com/cb"},
		{"user", "add", "--phone", cliPhone, "--name", "A B"},
	} {
		r := c.run(cliPassword+"\n", args...)
		if r.err == nil || !strings.Contains(r.err.Error(), "no database at "+path) || !strings.Contains(r.err.Error(), "otpidp migrate") {
			t.Errorf("otpidp %s: err = %v, want the missing database refused", strings.Join(args, " "), r.err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("otpidp %s created the database: %v", strings.Join(args, " "), err)
		}
	}
	// The default, otpidp.db in the working directory, is not created either.
	delete(c.env, "OTPIDP_DATABASE_URL")
	if r := c.run("", "user", "list"); r.err == nil || !strings.Contains(r.err.Error(), "no database at otpidp.db") {
		t.Errorf("user list without a database URL: %v", r.err)
	}
	if _, err := os.Stat("otpidp.db"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("otpidp.db was created: %v", err)
	}
	c.env["OTPIDP_DATABASE_URL"] = c.dbURL
	c.ok("", "migrate")
	if out := c.ok("", "user", "list"); !strings.Contains(out, "No users.") {
		t.Errorf("user list after migrate: %q", out)
	}
}

// TestParseSince: one parser for every --since.
func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 8, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"24h", now.Add(-24 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-12-01T15:04", time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)},
		{"2026-12-01 15:04", time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)},
		{"2026-12-01T15:04:05", time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)},
		{"2026-12-01T15:04:05Z", time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)},
		{"2026-12-01T15:04:05+02:00", time.Date(2026, 12, 1, 13, 4, 5, 0, time.UTC)},
		{" 24h ", now.Add(-24 * time.Hour)},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "-1h", "0s", "0d", "-3d", "yesterday", "2026-13-01", "12/01/2026", "1.5d"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
	// The commands take the same forms.
	c := newCLI(t)
	for _, args := range [][]string{
		{"sms", "stats", "--since", "2026-12-01"}, {"sms", "stats", "--since", "7d"}, {"sms", "stats", "--since", "2026-12-01T00:00:00Z"},
		{"audit", "--since", "2026-12-01"}, {"audit", "--since", "7d"}, {"audit", "--since", "24h"},
	} {
		c.ok("", args...)
	}
	wantUsageError(t, c.run("", "sms", "stats", "--since", "yesterday"), `--since "yesterday"`, "Usage: otpidp sms stats")
	wantUsageError(t, c.run("", "audit", "--since", "yesterday"), `--since "yesterday"`, "Usage: otpidp audit")
}

// TestDemoSurvivesClientRemove: removing the demo client while the server runs does not break
// /demo: it registers the client again on the next sign-in.
func TestDemoSurvivesClientRemove(t *testing.T) {
	ts, c := adminStores(t)["sqlite"](t)
	c.ok("", "client", "remove", demoClientID)
	ts.clock.advance(10 * time.Second) // past the server's client cache
	b := newBrowser(t)
	login := b.get(ts.issuer + "/demo/login")
	if login.status != http.StatusOK || login.url.Path != "/login" {
		t.Fatalf("/demo/login after client remove: %d %s\n%s", login.status, login.url, login.body)
	}
	if _, err := ts.store.GetClient(t.Context(), demoClientID); err != nil {
		t.Errorf("the demo client was not registered again: %v", err)
	}
}

func TestAdminUsage(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"user", "-h"}, {"session", "--help"}} {
		if r := c.run("", args...); r.err != nil || !strings.Contains(r.stdout, "Usage: otpidp "+args[0]) {
			t.Errorf("otpidp %v: %v %q", args, r.err, r.stdout)
		}
	}
	for _, args := range [][]string{{"user", "show", "-h"}, {"user", "delete", "-h"}, {"session", "list", "-h"}, {"client", "update", "-h"}, {"client", "rotate-secret", "-h"}, {"healthcheck", "-h"}} {
		if r := c.run("", args...); r.err != nil || !strings.Contains(r.stderr, "Usage: otpidp") {
			t.Errorf("otpidp %v: %v %q", args, r.err, r.stderr)
		}
	}
	for _, tt := range []struct {
		args      []string
		msg, want string
	}{
		{[]string{"user", "frob"}, `unknown command "user frob"`, "Usage: otpidp [COMMAND]"},
		{[]string{"user", "show"}, "needs a USER", "Usage: otpidp user"},
		{[]string{"user", "show", "a", "b"}, `unexpected argument "b"`, "Usage: otpidp user"},
		{[]string{"user", "list", "--disabled", "--enabled"}, "exclude each other", "Usage: otpidp user"},
		{[]string{"session"}, "needs a subcommand: list or end", "Usage: otpidp session"},
		{[]string{"session", "end", "x", "--user", "y"}, "one of them", "Usage: otpidp session"},
		{[]string{"client", "update"}, "the client ID is missing", "Usage: otpidp client update"},
		{[]string{"client", "rotate-secret"}, "the client ID is missing", "Usage: otpidp client rotate-secret"},
		{[]string{"version", "x"}, `unexpected argument "x"`, "Usage: otpidp version"},
	} {
		wantUsageError(t, c.run("", tt.args...), tt.msg, tt.want)
	}
	if r := c.run("", "user", "show", "nobody"); r.err == nil || !strings.Contains(r.err.Error(), `no user "nobody"`) {
		t.Errorf("user show nobody: %v", r.err)
	}
}

func TestVersion(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "version")
	if !strings.HasPrefix(out, "otpidp ") || !strings.Contains(out, "go1.") {
		t.Errorf("version = %q", out)
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/otpidp/otpidp", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := buildVersion(info, true), "otpidp v1.2.3 revision 0123abcd (modified) built from a commit of 2026-12-01T10:00:00Z, go1.26.0"; got != want {
		t.Errorf("buildVersion = %q, want %q", got, want)
	}
	if got := buildVersion(nil, false); got != "otpidp (no build information)" {
		t.Errorf("buildVersion without information = %q", got)
	}
}

func TestHealthcheck(t *testing.T) {
	ts, c := adminStores(t)["sqlite"](t)
	if out := c.ok("", "healthcheck", "--url", ts.issuer); strings.TrimSpace(out) != "ready" {
		t.Errorf("healthcheck = %q", out)
	}
	u, _ := url.Parse(ts.issuer)
	c.env["OTPIDP_ADDR"] = ":" + u.Port()
	c.ok("", "healthcheck") // from OTPIDP_ADDR, on the loopback interface
	c.env["OTPIDP_ADDR"] = "127.0.0.1:1"
	if r := c.run("", "healthcheck"); r.err == nil {
		t.Error("healthcheck of a closed port succeeded")
	}
	for addr, want := range map[string]string{":8080": "http://127.0.0.1:8080", "0.0.0.0:9": "http://127.0.0.1:9", "[::]:9": "http://127.0.0.1:9", "[::1]:9": "http://[::1]:9", "10.1.2.3:80": "http://10.1.2.3:80"} {
		if got, err := localURL(addr); err != nil || got != want {
			t.Errorf("localURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
}

// TestDefaultAddr: with a localhost issuer (development, codes may go to the console) otpidp
// listens on the loopback interface only; with any other issuer, on every interface. A listen
// address without an issuer is warned about.
func TestDefaultAddr(t *testing.T) {
	inTempDir(t)
	tests := []struct {
		env      map[string]string
		addr     string
		warnings bool
	}{
		{nil, "127.0.0.1:8080", false},
		{map[string]string{"OTPIDP_ISSUER": "http://127.0.0.1:8080"}, "127.0.0.1:8080", false},
		{map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "OTPIDP_SMS": "console"}, ":8080", false},
		{map[string]string{"OTPIDP_ADDR": ":9090"}, ":9090", true},
		{map[string]string{"OTPIDP_ADDR": "127.0.0.1:8080"}, "127.0.0.1:8080", false},
		{map[string]string{"OTPIDP_ADDR": ":9090", "OTPIDP_ISSUER": "http://localhost:9090"}, ":9090", false},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		c, err := loadConfig(nil, mapEnv(tt.env), &stderr)
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if c.Addr != tt.addr || strings.Contains(stderr.String(), "set OTPIDP_ISSUER") != tt.warnings {
			t.Errorf("%v: Addr %q, stderr %q; want %q, warning %v", tt.env, c.Addr, stderr.String(), tt.addr, tt.warnings)
		}
	}
}

// TestContainerFiles: docker-compose.yml passes every setting otpidp reads, and both it and the
// Dockerfile check health with the binary itself.
func TestContainerFiles(t *testing.T) {
	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys() {
		if !strings.Contains(string(compose), "\n      "+k+": ${"+k+":-") {
			t.Errorf("docker-compose.yml does not pass %s through", k)
		}
	}
	if !strings.Contains(string(compose), `test: ["CMD", "/otpidp", "healthcheck"]`) {
		t.Error("docker-compose.yml has no healthcheck through otpidp healthcheck")
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["/otpidp", "healthcheck"\]$`).Match(dockerfile) {
		t.Error("the Dockerfile has no HEALTHCHECK through otpidp healthcheck")
	}
}
