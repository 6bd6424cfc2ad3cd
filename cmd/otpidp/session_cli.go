package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/storage"
)

const sessionUsage = `Usage: otpidp session list [--user USER] [--limit N] [--json]
       otpidp session end SESSION_ID
       otpidp session end --user USER

list shows the live browser sessions (signed-in browsers), oldest first: session ID, user,
when it signed in, last activity, when it ends, and the browser. end signs one session out, or
every session of a user (the user's apps keep their tokens: "otpidp user disable" revokes them
too). USER is a user ID or phone number in E.164. Ending a session is recorded in the audit log.

Flags:
`

// runSession is "otpidp session …".
func runSession(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "list", "end":
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, strings.TrimSuffix(sessionUsage, "Flags:\n"))
		return nil
	case "":
		return usageFailure(stderr, sessionUsage, `"otpidp session" needs a subcommand: list or end`)
	default:
		return usageFailure(stderr, sessionUsage, "unknown command \"session %s\" (want list or end)", sub)
	}
	fs := newFlagSet("session "+sub, sessionUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	userRef := fs.String("user", "", "only the sessions of this user (an ID or E.164 phone number)")
	var limit *int
	var asJSON *bool
	if sub == "list" {
		limit = fs.Int("limit", 0, "at most this many sessions (0: all)")
		asJSON = fs.Bool("json", false, "print the sessions as a JSON array")
	}
	id, err := parseWithID(fs, args, "session "+sub)
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && id != "":
		return flagUsageFailure(fs, "session list: unexpected argument %q", id)
	case sub == "list" && *limit < 0:
		return flagUsageFailure(fs, "session list: --limit must not be negative")
	case sub == "end" && (id == "") == (*userRef == ""):
		return flagUsageFailure(fs, "session end needs a SESSION_ID or --user USER (one of them)")
	}
	cfg, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	userID := ""
	if *userRef != "" {
		u, err := findUser(ctx, store, *userRef)
		if err != nil {
			return err
		}
		userID = u.ID
	}
	if sub == "list" {
		return listSessions(ctx, store, storage.SessionQuery{UserID: userID, Limit: *limit}, *asJSON, stdout)
	}
	core, err := adminCore(ctx, cfg, store, stderr)
	if err != nil {
		return err
	}
	if userID != "" {
		n, err := core.EndUserSessions(ctx, userID, audit.ActorOperator)
		if err != nil {
			return fmt.Errorf("end sessions of user %s: %w", userID, err)
		}
		fmt.Fprintf(stdout, "Ended %d session(s) of user %s.\n", n, userID)
		return nil
	}
	ss, err := core.EndSessionByID(ctx, id, audit.ActorOperator)
	if errors.Is(err, signin.ErrNoSession) {
		return fmt.Errorf("no session %q (see otpidp session list)", id)
	} else if err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	fmt.Fprintf(stdout, "Ended session %s of user %s.\n", ss.ID, ss.UserID)
	return nil
}

type sessionJSON struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	AuthTime   time.Time `json:"auth_time"`
	AMR        []string  `json:"amr"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IdleUntil  time.Time `json:"idle_expires_at"`
}

func listSessions(ctx context.Context, store storage.Storage, q storage.SessionQuery, asJSON bool, stdout io.Writer) error {
	sessions, err := store.ListSessions(ctx, q, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	if asJSON {
		out := make([]sessionJSON, 0, len(sessions))
		for _, s := range sessions {
			out = append(out, sessionJSON{s.ID, s.UserID, s.AuthTime, nonNil(s.AMR), s.UserAgent, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IdleExpiresAt})
		}
		return writeJSON(stdout, out)
	}
	if len(sessions) == 0 {
		fmt.Fprintln(stdout, "No live sessions.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION ID\tUSER ID\tSIGNED IN\tLAST SEEN\tENDS\tBROWSER")
	for _, s := range sessions {
		ends := s.ExpiresAt
		if s.IdleExpiresAt.Before(ends) {
			ends = s.IdleExpiresAt
		}
		ua := oneLine(s.UserAgent)
		if r := []rune(ua); len(r) > 60 {
			ua = string(r[:60]) + "…"
		}
		if ua == "" {
			ua = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.UserID, timeOrDash(s.AuthTime), timeOrDash(s.LastSeenAt), timeOrDash(ends), ua)
	}
	return tw.Flush()
}
