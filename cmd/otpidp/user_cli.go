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

const userUsage = `Usage: otpidp user add --phone +E164 --name NAME < password-file
       otpidp user list [--disabled|--enabled] [--limit N] [--json]
       otpidp user show USER [--json]
       otpidp user disable USER
       otpidp user enable USER
       otpidp user delete USER --yes
       otpidp user recovery-codes USER

USER is a user ID (the sub of the user's tokens) or the user's phone number in E.164
(+15551234567).

  add             create a user whose phone counts as verified (see "otpidp user add -h")
  list            list users, oldest first
  show            one user: name, number, state, recovery codes left, sessions, apps
  disable         stop the user from signing in: the password step refuses it like a wrong
                  password and sends no text; every session ends and every token is revoked
  enable          let a disabled user sign in again
  delete          delete the account: name, number, password and recovery codes are erased,
                  sessions end, tokens and consents are revoked; the number may register again
                  and the ID is never given to anyone else; the audit log keeps its events under
                  the ID. Permanent: needs --yes
  recovery-codes  replace the user's recovery codes with a fresh set and print it, once (for a
                  user created with "user add", who never saw any, to reset a password)

Every change is recorded in the audit log ("otpidp audit"), as done by the operator.

Flags:
`

// runUser is "otpidp user …".
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	const subs = "add, list, show, disable, enable, delete or recovery-codes"
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, strings.TrimSuffix(userUsage, "Flags:\n"))
		return nil
	case "add":
		return runUserAdd(ctx, args, getenv, stdin, stdout, stderr)
	case "list":
		return runUserList(ctx, args, getenv, stdout, stderr)
	case "show", "disable", "enable", "delete", "recovery-codes":
		return runUserAction(ctx, sub, args, getenv, stdout, stderr)
	case "":
		return usageFailure(stderr, usage, `"otpidp user" needs a subcommand: %s`, subs)
	}
	return usageFailure(stderr, usage, "unknown command \"user %s\" (want %s)", sub, subs)
}

// userJSON is a user as user list --json and user show --json print it: never the password
// hash.
type userJSON struct {
	ID            string    `json:"id"`
	Phone         string    `json:"phone"`
	PhoneVerified bool      `json:"phone_verified"`
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
	DisabledAt    time.Time `json:"disabled_at,omitzero"`
	Disabled      bool      `json:"disabled"`
	RecoveryCodes *int      `json:"recovery_codes_left,omitempty"`
	Sessions      []string  `json:"sessions,omitempty"`
	Apps          []appJSON `json:"apps,omitempty"`
}

type appJSON struct {
	ClientID string    `json:"client_id"`
	Since    time.Time `json:"since"`
	Tokens   int       `json:"live_tokens"`
}

func listedUser(u storage.User) userJSON {
	return userJSON{ID: u.ID, Phone: u.Phone, PhoneVerified: u.PhoneVerified, Name: u.Name,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, DisabledAt: u.DisabledAt, Disabled: u.Disabled()}
}

func runUserList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user list", userUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	disabled := fs.Bool("disabled", false, "only disabled users")
	enabled := fs.Bool("enabled", false, "only users who can sign in")
	limit := fs.Int("limit", 0, "at most this many users (0: all)")
	asJSON := fs.Bool("json", false, "print the users as a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return flagUsageFailure(fs, "user list: unexpected argument %q", fs.Arg(0))
	case *disabled && *enabled:
		return flagUsageFailure(fs, "user list: --disabled and --enabled exclude each other")
	case *limit < 0:
		return flagUsageFailure(fs, "user list: --limit must not be negative")
	}
	q := storage.UserQuery{Limit: *limit}
	if *disabled || *enabled {
		q.Disabled = disabled
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	users, err := store.ListUsers(ctx, q)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if *asJSON {
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			out = append(out, listedUser(u))
		}
		return writeJSON(stdout, out)
	}
	if len(users) == 0 {
		fmt.Fprintln(stdout, "No users.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER ID\tPHONE\tNAME\tSTATE\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Phone, oneLine(u.Name), userState(u), timeOrDash(u.CreatedAt))
	}
	return tw.Flush()
}

func userState(u storage.User) string {
	switch {
	case u.Disabled():
		return "disabled since " + u.DisabledAt.UTC().Format(time.RFC3339)
	case !u.PhoneVerified:
		return "unverified"
	}
	return "active"
}

// findUser returns the user an operator named: an ID, or a phone number in E.164.
func findUser(ctx context.Context, store storage.Storage, ref string) (storage.User, error) {
	var u storage.User
	var err error
	if strings.HasPrefix(ref, "+") {
		u, err = store.GetUserByPhone(ctx, strings.Join(strings.Fields(ref), ""))
	} else {
		u, err = store.GetUser(ctx, ref)
	}
	if errors.Is(err, storage.ErrNotFound) {
		if deleted, derr := store.UserDeleted(ctx, ref); derr == nil && deleted {
			return u, fmt.Errorf("user %s was deleted", ref)
		}
		return u, fmt.Errorf("no user %q (see otpidp user list)", ref)
	}
	return u, err
}

func runUserAction(ctx context.Context, sub string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user "+sub, userUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	asJSON, yes := new(bool), new(bool)
	switch sub {
	case "show":
		asJSON = fs.Bool("json", false, "print the user as JSON")
	case "delete":
		yes = fs.Bool("yes", false, "confirm: deleting an account cannot be undone")
	}
	ref, err := parseWithID(fs, args, "user "+sub)
	if err != nil {
		return err
	}
	if ref == "" {
		return flagUsageFailure(fs, "user %s needs a USER: a user ID or phone number", sub)
	}
	if sub == "delete" && !*yes {
		return flagUsageFailure(fs, "user delete: deleting an account cannot be undone; add --yes to confirm")
	}
	cfg, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := findUser(ctx, store, ref)
	if err != nil {
		return err
	}
	if sub == "show" {
		return showUser(ctx, store, u, *asJSON, stdout)
	}
	core, err := adminCore(ctx, cfg, store, stderr)
	if err != nil {
		return err
	}
	switch sub {
	case "disable":
		was := u.Disabled()
		if _, err := core.DisableUser(ctx, u.ID, audit.ActorOperator); err != nil {
			return fmt.Errorf("disable user %s: %w", u.ID, err)
		}
		if was {
			fmt.Fprintf(stdout, "User %s was disabled already; any session left has ended and every token is revoked.\n", u.ID)
		} else {
			fmt.Fprintf(stdout, "Disabled user %s (%s): it cannot sign in; its sessions have ended and its tokens are revoked.\n", u.ID, oneLine(u.Name))
		}
	case "enable":
		if _, err := core.EnableUser(ctx, u.ID, audit.ActorOperator); err != nil {
			return fmt.Errorf("enable user %s: %w", u.ID, err)
		}
		fmt.Fprintf(stdout, "Enabled user %s (%s): it can sign in again.\n", u.ID, oneLine(u.Name))
	case "delete":
		if err := core.DeleteUser(ctx, u.ID, audit.ActorOperator); errors.Is(err, signin.ErrNoUser) {
			return fmt.Errorf("no user %q (deleted meanwhile?)", ref)
		} else if err != nil {
			return fmt.Errorf("delete user %s: %w", u.ID, err)
		}
		fmt.Fprintf(stdout, "Deleted user %s: name, phone number, password and recovery codes are erased, sessions ended, tokens and consents revoked. The number may register again (as a new user).\n", u.ID)
	case "recovery-codes":
		codes, err := core.IssueRecoveryCodes(ctx, u.ID, audit.ActorOperator)
		if err != nil {
			return fmt.Errorf("recovery codes for user %s: %w", u.ID, err)
		}
		fmt.Fprintf(stdout, "New recovery codes for user %s (%s). The old ones no longer work.\n", u.ID, oneLine(u.Name))
		fmt.Fprintf(stdout, "Give them to the user over a safe channel; they are shown only this once:\n\n")
		for _, c := range codes {
			fmt.Fprintln(stdout, c)
		}
	}
	return nil
}

func showUser(ctx context.Context, store storage.Storage, u storage.User, asJSON bool, stdout io.Writer) error {
	now := time.Now().UTC()
	v := listedUser(u)
	left, err := store.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	v.RecoveryCodes = &left
	sessions, err := store.ListSessions(ctx, storage.SessionQuery{UserID: u.ID}, now)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		v.Sessions = append(v.Sessions, s.ID)
	}
	grants, err := store.ListUserGrants(ctx, u.ID, now)
	if err != nil {
		return err
	}
	for _, g := range grants {
		v.Apps = append(v.Apps, appJSON{ClientID: g.ClientID, Since: g.FirstAt, Tokens: g.LiveCount})
	}
	if asJSON {
		return writeJSON(stdout, v)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", u.ID)
	fmt.Fprintf(tw, "name:\t%s\n", oneLine(u.Name))
	fmt.Fprintf(tw, "phone:\t%s (verified: %t)\n", u.Phone, u.PhoneVerified)
	fmt.Fprintf(tw, "state:\t%s\n", userState(u))
	fmt.Fprintf(tw, "created:\t%s\n", timeOrDash(u.CreatedAt))
	fmt.Fprintf(tw, "updated:\t%s\n", timeOrDash(u.UpdatedAt))
	fmt.Fprintf(tw, "recovery codes left:\t%d\n", left)
	fmt.Fprintf(tw, "sessions:\t%d\n", len(sessions))
	for _, g := range v.Apps {
		fmt.Fprintf(tw, "app:\t%s (since %s, %d live tokens)\n", g.ClientID, timeOrDash(g.Since), g.Tokens)
	}
	return tw.Flush()
}
