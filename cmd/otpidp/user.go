package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

const userAddUsage = `Usage: otpidp user add --phone +E164 --name NAME [FLAGS] < password-file

Create a user whose phone number counts as verified. The password is the first line of
standard input, for example:

  printf '%s\n' "$PASSWORD" | otpidp user add --phone +15551234567 --name 'Ada Lovelace'

Flags:
`

func runUserAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("user add", userAddUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL, envDefaultRegion)
	phoneInput := fs.String("phone", "", "the phone number, in E.164 (+15551234567) or national form (required)")
	name := fs.String("name", "", "the user's full name (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var missing []string
	if fs.NArg() > 0 {
		missing = append(missing, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if strings.TrimSpace(*phoneInput) == "" {
		missing = append(missing, "--phone is required")
	}
	if strings.TrimSpace(*name) == "" {
		missing = append(missing, "--name is required")
	}
	if len(missing) > 0 {
		return flagUsageFailure(fs, "user add: %s", strings.Join(missing, "; "))
	}
	cfg, err := cf.load(getenv, stderr)
	if err != nil {
		return err
	}

	if isTerminal(stdin) {
		fmt.Fprint(stderr, "Password (shown as you type; pipe it in to keep it off the screen): ")
	}
	password, err := readPassword(stdin)
	if err != nil {
		return flagUsageFailure(fs, "user add: %v", err)
	}

	store, err := openExistingStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	noSMS := sms.SenderFunc(func(context.Context, sms.Message) error {
		return errors.New("otpidp user add sends no SMS")
	})
	a, err := auth.New(ctx, store, noSMS, auth.Config{
		ProductName:   cfg.ProductName,
		OriginHost:    cfg.OriginHost(),
		DefaultRegion: cfg.DefaultRegion,
	})
	if err != nil {
		return err
	}
	u, err := a.CreateUser(ctx, *phoneInput, *name, password)
	var fe *auth.FieldError
	switch {
	case errors.Is(err, auth.ErrPhoneNotMobile):
		return flagUsageFailure(fs, "user add: --phone %q cannot receive SMS (it is not a mobile number)", *phoneInput)
	case errors.Is(err, auth.ErrInvalidPhone):
		return flagUsageFailure(fs, "user add: --phone %q is not a phone number (use E.164, like +15551234567, or a national number of region %s)", *phoneInput, cfg.DefaultRegion)
	case errors.As(err, &fe):
		what := "--name"
		if fe.Field == auth.FieldPassword {
			what = "the password"
		}
		return flagUsageFailure(fs, "user add: %s is refused: %s", what, fe.Message())
	case errors.Is(err, storage.ErrAlreadyExists):
		return fmt.Errorf("user add: a user with phone number %s exists already", *phoneInput)
	case err != nil:
		return fmt.Errorf("user add: %w", err)
	}
	recordOperator(ctx, store, stderr, audit.Entry{Event: audit.UserAdded, UserID: u.ID, Phone: u.Phone})
	fmt.Fprintf(stdout, "Created user %s: %s, %s (phone verified).\n", u.ID, u.Name, u.Phone)
	fmt.Fprintf(stdout, "To let the user reset a forgotten password, give them recovery codes: otpidp user recovery-codes %s\n", u.ID)
	return nil
}

// readPassword returns the first line of r, without its line ending. It reads at most
// auth.MaxPasswordBytes and a line ending, so a huge input is refused without being read.
func readPassword(r io.Reader) (string, error) {
	br := bufio.NewReader(io.LimitReader(r, auth.MaxPasswordBytes+2))
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	switch {
	case len(line) > auth.MaxPasswordBytes:
		return "", fmt.Errorf("the password is longer than %d bytes", auth.MaxPasswordBytes)
	case line == "":
		return "", errors.New("the password is empty: write it as the first line of standard input")
	}
	return line, nil
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
