package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// The operator's commands change accounts through the same sign-in core the pages use, and
// record every action in the audit log with the detail audit.ActorOperator.

// operatorLog is the audit log of an operator's command; a failure to write it is reported
// on stderr (the action itself stands).
func operatorLog(store storage.Storage, stderr io.Writer) *audit.Log {
	return audit.New(store, nil, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// recordOperator appends an operator's action to the audit log.
func recordOperator(ctx context.Context, store storage.Storage, stderr io.Writer, e audit.Entry) {
	e.Detail = audit.ActorOperator
	operatorLog(store, stderr).Record(ctx, e)
}

// adminCore is the sign-in core for an operator's command: it sends no SMS.
func adminCore(ctx context.Context, cfg Config, store storage.Storage, stderr io.Writer) (*signin.Core, error) {
	noSMS := sms.SenderFunc(func(context.Context, sms.Message) error {
		return errors.New("operator commands send no SMS")
	})
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := auth.New(ctx, store, noSMS, auth.Config{
		ProductName:   cfg.ProductName,
		OriginHost:    cfg.OriginHost(),
		DefaultRegion: cfg.DefaultRegion,
	}, auth.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	return signin.New(store, a, signin.Config{Logger: logger}), nil
}

// parseWithID parses args that hold one positional ID before or after the flags
// ("user show ID --json" and "user show --json ID"). The ID is empty when none was given; more
// than one is a usage error.
func parseWithID(fs *flag.FlagSet, args []string, what string) (string, error) {
	id := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
		if err := parseFlags(fs, fs.Args()[1:]); err != nil {
			return "", err
		}
	}
	if fs.NArg() > 0 {
		return "", flagUsageFailure(fs, "%s: unexpected argument %q (one at a time)", what, fs.Arg(0))
	}
	return id, nil
}

// timeOrDash formats t for a table: RFC 3339 in UTC, "-" for the zero time.
func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
