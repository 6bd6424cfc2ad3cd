package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/storage"
)

// Signing-key settings.
const (
	envKeyRotation = "OTPIDP_KEY_ROTATION"
	envKeyLeadTime = "OTPIDP_KEY_LEAD_TIME"

	defaultKeyRotation = "30d"
	defaultKeyLeadTime = "24h"

	// keyCheckInterval is how often each instance checks whether a key is due for rotation
	// and deletes expired keys.
	keyCheckInterval = 10 * time.Minute
)

// resolveKeySettings reads OTPIDP_KEY_ROTATION ("off" disables the schedule: KeyRotation < 0)
// and OTPIDP_KEY_LEAD_TIME into c.
func resolveKeySettings(c *Config, get func(key, def string) string) []string {
	var p []string
	rot := strings.ToLower(strings.TrimSpace(get(envKeyRotation, defaultKeyRotation)))
	if rot == "off" {
		c.KeyRotation = -1
	} else if d, err := parseDays(rot); err != nil || d < time.Hour {
		p = append(p, fmt.Sprintf("%s=%q: must be a duration of at least 1h, like 30d or 720h, or off", envKeyRotation, rot))
	} else {
		c.KeyRotation = d
	}
	lead := strings.TrimSpace(get(envKeyLeadTime, defaultKeyLeadTime))
	if d, err := parseDays(lead); err != nil {
		p = append(p, fmt.Sprintf("%s=%q: must be a duration like 24h or 1d", envKeyLeadTime, lead))
	} else {
		c.KeyLeadTime = d
	}
	return p
}

// keyProblems checks the signing-key settings. Zero durations are the provider's defaults.
func (c *Config) keyProblems() []string {
	var p []string
	if c.KeyRotation > 0 && c.KeyRotation < time.Hour {
		p = append(p, fmt.Sprintf("%s: must be at least 1h (or off), not %v", envKeyRotation, c.KeyRotation))
	}
	if c.KeyLeadTime < 0 {
		p = append(p, envKeyLeadTime+" must not be negative")
	} else if c.KeyRotation > 0 && c.KeyLeadTime >= c.KeyRotation {
		p = append(p, fmt.Sprintf("%s (%v) must be shorter than %s (%v)", envKeyLeadTime, c.KeyLeadTime, envKeyRotation, c.KeyRotation))
	}
	return p
}

// parseDays is time.ParseDuration that also takes whole days, "30d".
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 3650 {
			return 0, errors.New("bad number of days")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// providerKeyConfig is the part of the provider's configuration that key rotation uses; the
// CLI and the servers must agree on it.
func providerKeyConfig(c Config, now func() time.Time) provider.Config {
	return provider.Config{KeyRotation: c.KeyRotation, KeyLeadTime: c.KeyLeadTime, Now: now}
}

// maintainKeys rotates due signing keys and deletes expired ones, at start and then every
// keyCheckInterval, until ctx ends.
func maintainKeys(ctx context.Context, d deps, prov *provider.Provider) {
	t := time.NewTicker(keyCheckInterval)
	defer t.Stop()
	for {
		rotated, err := prov.MaintainKeys(ctx)
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("signing key maintenance", "error", err)
		}
		for _, r := range rotated {
			d.logger.Info("signing key rotated", "kid", r.ID, "alg", r.Algorithm, "active_at", r.ActiveAt, "old_keys_retire_at", r.RetireAt)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

const keysUsage = `Usage: otpidp keys rotate [--now] [FLAGS]
       otpidp keys list [FLAGS]

rotate creates a new signing key. It is published in JWKS at once and signs tokens after
OTPIDP_KEY_LEAD_TIME (default 24h), once relying parties have had time to fetch it; the keys it
replaces stay published until every token they signed has expired. Every instance follows
within a minute. Instances also rotate on their own every OTPIDP_KEY_ROTATION (default 30d).

--now makes the new key sign at once: for an emergency. Relying parties that cache JWKS and do
not fetch it again for an unknown kid may refuse tokens for a while.

list shows the signing keys (never their private parts).

Flags:
`

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	if sub != "rotate" && sub != "list" {
		return usageFailure(stderr, keysUsage, `"otpidp keys" needs a subcommand: rotate or list`)
	}
	fs := newFlagSet("keys "+sub, keysUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	now := false
	alg := "RS256"
	if sub == "rotate" {
		fs.BoolVar(&now, "now", false, "sign with the new key at once (an emergency)")
		fs.StringVar(&alg, "alg", alg, "the algorithm of the key to rotate: RS256 (ID tokens by default, JWT access tokens), or ES256 or EdDSA (ID tokens of the clients registered with --id-token-alg)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "keys %s: unexpected argument %q", sub, fs.Arg(0))
	}
	cfg, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "list" {
		return listKeys(ctx, store, stdout)
	}
	r, err := provider.RotateSigningKey(ctx, store, providerKeyConfig(cfg, time.Now), alg, now)
	if err != nil {
		return err
	}
	recordOperator(ctx, store, stderr, audit.Entry{Event: audit.KeyRotated})
	fmt.Fprintf(stdout, "New %s signing key %s: published now, signs from %s.\nThe keys it replaces leave JWKS at %s.\n",
		r.Algorithm, r.ID, r.ActiveAt.Format(time.RFC3339), r.RetireAt.Format(time.RFC3339))
	return nil
}

func listKeys(ctx context.Context, store storage.Storage, stdout io.Writer) error {
	all, err := store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tGENERATION\tCREATED\tSIGNS FROM\tRETIRES")
	for _, k := range all {
		retires := "-"
		if !k.ExpiresAt.IsZero() {
			retires = k.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.Generation,
			k.CreatedAt.Format(time.RFC3339), k.ActiveAt.Format(time.RFC3339), retires)
	}
	return tw.Flush()
}
