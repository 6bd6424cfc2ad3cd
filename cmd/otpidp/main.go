// Command otpidp is an OpenID Connect provider where people sign in with their phone number, a
// password and a six-digit code sent by SMS.
//
//	otpidp [serve]         serve the provider (migrating the database first)
//	otpidp migrate         apply database migrations
//	otpidp client add      register a relying party
//	otpidp client list     list relying parties
//	otpidp client remove   delete a relying party
//	otpidp client update   change a relying party; client rotate-secret gives it a new secret
//	otpidp user add        create a user; the password is read from standard input
//	otpidp user …          list, show, disable, enable, delete a user; new recovery codes
//	otpidp session …       list and end browser sessions
//	otpidp sms stats       delivery of the text messages sent, per country
//	otpidp version         the build's version and VCS revision
//	otpidp healthcheck     exit 0 when the local server is ready (for container health checks)
//
// Configuration comes from flags, the environment and a .env file; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/deadline"
	"github.com/otpidp/otpidp/storage/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if code := exitCode(err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitCode prints err (unless run printed it already) and returns the exit status: 0 for none,
// 2 for a usage or configuration error, 1 for any other.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return 2 // run printed what is wrong and the usage
	}
	fmt.Fprintln(stderr, "otpidp:", err)
	var ce *configError
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

// usageError is a wrong command, flag or value. When run returns one it has already printed
// what is wrong and the usage to stderr. Exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usage = `Usage: otpidp [COMMAND] [FLAGS]

otpidp is an OpenID Connect provider: people sign in with their phone number, a password and a
six-digit code sent by SMS.

Commands:
  serve               serve the provider (the default); migrates the database first
  migrate             apply the database migrations and exit
  client add          register a relying party and print its client_id and client_secret
  client list         list the registered relying parties
  client remove ID    delete a relying party
  client update ID    change a relying party (name, redirect URIs, grants, scopes, …), keeping its secret
  client rotate-secret ID   give a confidential client a new secret, printed once
  user add            create a user; the password is read from standard input
  user list           list users (user show USER for one)
  user disable|enable USER   stop or restore a user's sign-ins (disable also ends sessions, revokes tokens)
  user delete USER --yes     delete an account's personal data; the number may register again
  user recovery-codes USER   issue a fresh set of recovery codes, printed once
  session list|end    list live browser sessions (--user USER); end one (ID) or a user's (--user)
  sms pause|resume    stop or restart every SMS on every instance (also: sms status, sms restore USER_ID)
  audit               print the audit log (--user ID, --since 24h)
  keys rotate         create a new signing key (keys list shows them)
  sms stats           delivery of the text messages sent, per country (--since 24h, 7d, 2026-12-01)
  version             print the version and VCS revision of this build
  healthcheck         exit 0 when the local server answers /readyz (for container health checks)
  help                show this help

Every command but serve and migrate needs an existing database: it never creates one.

Run "otpidp COMMAND -h" for the flags of a command. Configuration comes from flags, the
environment (OTPIDP_ISSUER, OTPIDP_DATABASE_URL, TWILIO_ACCOUNT_SID, …) and a .env file in the
working directory; README.md lists every setting.
`

// run is the whole program: main only adds the process's arguments, environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the command's usage
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return runServe(ctx, nil, getenv, stdout, stderr)
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "client":
		sub, subArgs := "", []string(nil)
		if len(rest) > 0 {
			sub, subArgs = rest[0], rest[1:]
		}
		switch sub {
		case "add":
			return runClientAdd(ctx, subArgs, getenv, stdout, stderr)
		case "list":
			return runClientList(ctx, subArgs, getenv, stdout, stderr)
		case "remove":
			return runClientRemove(ctx, subArgs, getenv, stdout, stderr)
		case "update":
			return runClientUpdate(ctx, subArgs, getenv, stdout, stderr)
		case "rotate-secret":
			return runClientRotateSecret(ctx, subArgs, getenv, stdout, stderr)
		case "":
			return usageFailure(stderr, usage, `"otpidp client" needs a subcommand: add, list, remove, update or rotate-secret`)
		}
		return usageFailure(stderr, usage, "unknown command \"client %s\" (want add, list, remove, update or rotate-secret)", sub)
	case "user":
		return runUser(ctx, rest, getenv, stdin, stdout, stderr) // user_cli.go
	case "session":
		return runSession(ctx, rest, getenv, stdout, stderr) // session_cli.go
	case "version", "--version":
		return runVersion(ctx, rest, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, getenv, stdout, stderr)
	case "sms":
		if len(rest) > 0 && rest[0] == "stats" {
			return runSMSStats(ctx, rest[1:], getenv, stdout, stderr)
		}
		return runSMS(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if strings.HasPrefix(cmd, "-") {
		return runServe(ctx, args[1:], getenv, stdout, stderr) // "otpidp --addr :9090"
	}
	return usageFailure(stderr, usage, "unknown command %q", cmd)
}

const serveUsage = `Usage: otpidp [serve] [FLAGS]

Serve the OpenID provider until interrupted. The database is migrated first.

Flags (each overrides the environment variable named; secrets are read only from the
environment or the .env file):
`

// runServe loads the configuration, opens and migrates the store and serves.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	m := newMetricsFor(cfg) // logging.go, metrics.go: nil with OTPIDP_ADMIN_ADDR=off
	logger := newLogger(cfg, stderr, m)
	// zitadel/oidc logs through slog's default logger only; give it ours.
	slog.SetDefault(logger)
	stopObs, err := startObservability(ctx, cfg, m, logger) // admin listener, trace export
	if err != nil {
		return err
	}
	defer stopObs()
	life := cfg.Lifecycle.withDefaults()
	store, err := openMigratedStore(ctx, cfg.DatabaseURL, postgres.WithTimeout(life.DBTimeout))
	if err != nil {
		return err
	}
	logger.Debug("configuration", "config", cfg)
	limitMemory(getenv, auth.HashMemoryBound(auth.Config{}), logger) // memory.go; newHandler leaves the hash settings at their defaults
	// Metrics see every store call (observeStore), each of which has a deadline (deadline.Wrap).
	err = serve(ctx, cfg, deadline.Wrap(m.observeStore(cfg, store, logger), life.DBTimeout), logger, stdout, m)
	closeStore(store, closeMargin(life), logger)
	return err
}

// closeStore closes the store, waiting at most wait: closing a PostgreSQL pool waits for the
// connections in use, and the process must exit within its grace period whatever the database
// does.
func closeStore(store storage.Storage, wait time.Duration, logger *slog.Logger) {
	done := make(chan struct{})
	go func() {
		if err := store.Close(); err != nil {
			logger.Warn("close the database", "error", err)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		logger.Warn("the database did not close in time; exiting anyway")
	}
}

// newFlagSet returns a flag set that reports errors, and prints usage followed by the flags'
// defaults, on stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("otpidp "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args. On a bad flag, the flag package has printed the problem and the
// usage: the error is a *usageError. -h returns flag.ErrHelp (run turns it into success).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return err
	}
	return &usageError{msg: err.Error()}
}

// usageFailure prints what is wrong and the usage to stderr and returns the *usageError.
func usageFailure(stderr io.Writer, usage, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintf(stderr, "otpidp: %s\n\n%s", msg, usage)
	return &usageError{msg: msg}
}

// flagUsageFailure is usageFailure with the usage and flags of fs.
func flagUsageFailure(fs *flag.FlagSet, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintf(fs.Output(), "otpidp: %s\n\n", msg)
	fs.Usage()
	return &usageError{msg: msg}
}

// listFlag is a repeatable flag; each use adds one value.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// commaListFlag is a repeatable flag whose values may also be comma-separated.
type commaListFlag []string

func (l *commaListFlag) String() string { return strings.Join(*l, ",") }
func (l *commaListFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			return errors.New("empty value in list")
		}
		*l = append(*l, v)
	}
	return nil
}
