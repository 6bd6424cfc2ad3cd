package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// sinceHelp says what every --since flag accepts; parseSince is the one parser behind them.
const sinceHelp = `a duration back from now ("24h", "90m", "7d"), a date ("2026-12-01", midnight UTC) or a time ("2026-12-01T15:04", "2026-12-01T15:04:05Z", RFC 3339)`

// parseSince reads a --since value (audit, sms stats, …): a positive duration back from now
// (Go's "24h", "90m", or whole days "7d"), a date (midnight UTC), a time without a zone (UTC),
// or an RFC 3339 time with one. The result is in UTC.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty: " + sinceHelp)
	}
	if d, ok, err := parseBackDuration(s); ok {
		if err != nil {
			return time.Time{}, err
		}
		return now.UTC().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not understood: want " + sinceHelp)
}

// parseBackDuration reads "24h" or "7d"; ok is false when s is neither kind of duration.
func parseBackDuration(s string) (d time.Duration, ok bool, err error) {
	if days, found := strings.CutSuffix(s, "d"); found {
		n, perr := strconv.Atoi(days)
		if perr != nil {
			return 0, false, nil
		}
		if n <= 0 || n > 100*366 {
			return 0, true, errors.New("the number of days must be positive")
		}
		return time.Duration(n) * 24 * time.Hour, true, nil
	}
	d, perr := time.ParseDuration(s)
	if perr != nil {
		return 0, false, nil
	}
	if d <= 0 {
		return 0, true, errors.New("the duration must be positive")
	}
	return d, true, nil
}
