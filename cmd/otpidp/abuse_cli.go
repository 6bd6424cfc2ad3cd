package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/storage"
)

const smsUsage = `Usage: otpidp sms pause|resume|status [FLAGS]
       otpidp sms restore USER_ID [FLAGS]

pause stops every SMS at once, on every instance sharing the database (the kill switch against
SMS pumping); sign-ins and registrations that need a code are refused with a clear message
until resume. status prints whether SMS are paused. restore re-enables the SMS factor of a user
whose factor was disabled after too many wrong codes in a row.

Flags:
`

// runSMS is "otpidp sms …".
func runSMS(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "pause", "resume", "status", "restore":
	case "":
		return usageFailure(stderr, smsUsage, `"otpidp sms" needs a subcommand: pause, resume, status or restore`)
	default:
		return usageFailure(stderr, smsUsage, "unknown command \"sms %s\" (want pause, resume, status or restore)", sub)
	}
	fs := newFlagSet("sms "+sub, smsUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	var userID string
	if sub == "restore" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		userID, args = args[0], args[1:] // "sms restore ID --database-url …"
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sub == "restore" {
		if userID == "" && fs.NArg() == 1 {
			userID = fs.Arg(0)
		} else if userID == "" || fs.NArg() > 0 {
			return flagUsageFailure(fs, "sms restore needs one USER_ID")
		}
	} else if fs.NArg() > 0 {
		return flagUsageFailure(fs, "sms %s: unexpected argument %q", sub, fs.Arg(0))
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	// A failed audit write is reported on stderr; the switch or restore itself stands.
	log := audit.New(store, func() time.Time { return now }, slog.New(slog.NewTextHandler(stderr, nil)))
	switch sub {
	case "pause", "resume":
		if err := store.SetSwitch(ctx, auth.SwitchSMSPaused, sub == "pause", now); err != nil {
			return err
		}
		event := audit.SMSPaused
		if sub == "resume" {
			event = audit.SMSResumed
		}
		log.Record(ctx, audit.Entry{Event: event, Detail: audit.ActorOperator})
		if sub == "pause" {
			fmt.Fprintln(stdout, "SMS are paused on every instance: no code is sent until \"otpidp sms resume\".")
		} else {
			fmt.Fprintln(stdout, "SMS are sent again.")
		}
	case "status":
		paused, err := store.Switch(ctx, auth.SwitchSMSPaused)
		if err != nil {
			return err
		}
		if paused {
			fmt.Fprintln(stdout, "paused")
		} else {
			fmt.Fprintln(stdout, "sending")
		}
	case "restore":
		if _, err := store.GetUser(ctx, userID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("no user %q", userID)
			}
			return err
		}
		if err := auth.RestoreSMSFactorIn(ctx, store, log, userID, "operator"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "The SMS factor of user %s works again.\n", userID)
	}
	return nil
}

const auditUsage = `Usage: otpidp audit [--user ID] [--since D] [--json] [FLAGS]

Print the audit log, oldest first: password and code checks, codes sent and refused,
lockouts, registrations, tokens issued, refreshed and revoked, rate-limit refusals and operator
actions, with time, user, client, IP address, request ID and the phone number masked.

--since takes a duration back from now ("24h", "30m", "7d"), a date ("2026-01-02", midnight
UTC) or a time ("2026-01-02T15:04", "2026-01-02T15:04:05Z"): the same as every --since.

Flags:
`

// runAudit is "otpidp audit".
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", auditUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	user := fs.String("user", "", "only the events of this user ID")
	since := fs.String("since", "", `only events since then: a duration back ("24h") or a time ("2026-01-02")`)
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "audit: unexpected argument %q", fs.Arg(0))
	}
	now := time.Now().UTC()
	q := storage.AuditQuery{UserID: *user}
	if *since != "" {
		t, err := parseSince(*since, now)
		if err != nil {
			return flagUsageFailure(fs, "--since %q: %v", *since, err)
		}
		q.Since = t
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	events, err := store.ListAudit(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range events {
			if err := enc.Encode(auditJSON{e.At, e.Event, e.UserID, e.ClientID, e.IP, e.RequestID, e.PhoneMasked, e.Detail}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tUSER\tCLIENT\tIP\tREQUEST\tPHONE\tDETAIL")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return strings.ReplaceAll(s, "\t", " ")
	}
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Event, dash(e.UserID),
			dash(e.ClientID), dash(e.IP), dash(e.RequestID), dash(e.PhoneMasked), dash(e.Detail))
	}
	return tw.Flush()
}

type auditJSON struct {
	At          time.Time `json:"time"`
	Event       string    `json:"event"`
	UserID      string    `json:"user_id,omitempty"`
	ClientID    string    `json:"client_id,omitempty"`
	IP          string    `json:"ip,omitempty"`
	RequestID   string    `json:"request_id,omitempty"`
	PhoneMasked string    `json:"phone,omitempty"`
	Detail      string    `json:"detail,omitempty"`
}
