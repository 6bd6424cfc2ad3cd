package limits_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "otpidp.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// clock is a fake clock, moved by hand.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)} }

func ipCtx(t *testing.T, ip string) context.Context {
	return reqinfo.With(t.Context(), reqinfo.Info{IP: netip.MustParseAddr(ip)})
}

// TestTable: every limit has a spec saying what it protects, window limits a key prefix and
// a positive default, runs a factor; names are unique and Lookup finds each.
func TestTable(t *testing.T) {
	names := limits.Names()
	if len(names) < 15 {
		t.Fatalf("Names() = %d limits, want every limit", len(names))
	}
	for _, n := range names {
		s, ok := limits.Lookup(n)
		if !ok || s.Protects == "" {
			t.Errorf("%s: spec %+v, ok %v", n, s, ok)
		}
		if (s.Prefix == "") == (s.Factor == "") {
			t.Errorf("%s: want exactly one of Prefix %q and Factor %q", n, s.Prefix, s.Factor)
		}
		if s.Factor == "" && (s.Default.Max < 1 || s.Default.Per <= 0) {
			t.Errorf("%s: default %v", n, s.Default)
		}
	}
	if _, ok := limits.Lookup("nope"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

// TestKeys: the store keys are those written before the package existed, so existing rows keep
// their meaning.
func TestKeys(t *testing.T) {
	s := &recorder{}
	l := limits.New(s, map[limits.Name]limits.Rate{limits.DeviceCodePerIP: {Max: 7}})
	now := newClock().Now()
	hits := []limits.Hit{
		{Name: limits.LoginPerIP, Subject: "192.0.2.1"},
		{Name: limits.LoginGlobal},
		{Name: limits.SMSPhoneHourly, Subject: "+15551234567"},
		{Name: limits.SMSPhoneDaily, Subject: "+15551234567"},
		{Name: limits.SMSPrefixHourly, Subject: "1555123"},
		{Name: limits.SMSIPHourly, Subject: "192.0.2.1"},
		{Name: limits.SMSCountryDaily, Subject: "US"},
		{Name: limits.SMSGlobalHourly, Reserve: 20},
		{Name: limits.SMSGlobalDaily},
		{Name: limits.DeviceCodePerIP, Subject: "2001:db8::/64"},
	}
	if _, err := l.Take(t.Context(), now, hits...); err != nil {
		t.Fatal(err)
	}
	want := []storage.Limit{
		{Key: "login:ip:192.0.2.1/15m0s", Window: 15 * time.Minute, Max: 30},
		{Key: "login:all/1m0s", Window: time.Minute, Max: 600},
		{Key: "sms:phone:+15551234567/1h0m0s", Window: time.Hour, Max: 5},
		{Key: "sms:phone:+15551234567/24h0m0s", Window: 24 * time.Hour, Max: 10},
		{Key: "sms:prefix:1555123/1h0m0s", Window: time.Hour, Max: 10},
		{Key: "sms:ip:192.0.2.1/1h0m0s", Window: time.Hour, Max: 10},
		{Key: "sms:country:US/24h0m0s", Window: 24 * time.Hour, Max: 1000},
		{Key: "sms:global/1h0m0s", Window: time.Hour, Max: 240},
		{Key: "sms:global/24h0m0s", Window: 24 * time.Hour, Max: 3000},
		{Key: "device:ip:2001:db8::/64/15m0s", Window: 15 * time.Minute, Max: 7},
	}
	if len(s.took) != len(want) {
		t.Fatalf("took %v", s.took)
	}
	for i := range want {
		if s.took[i] != want[i] {
			t.Errorf("hit %s: limit %+v, want %+v", hits[i].Name, s.took[i], want[i])
		}
	}
}

type recorder struct{ took []storage.Limit }

func (r *recorder) Take(_ context.Context, _ time.Time, l ...storage.Limit) (*storage.Refusal, error) {
	r.took = append(r.took, l...)
	return nil, nil
}

func (r *recorder) Untake(context.Context, time.Time, ...storage.Limit) error { return nil }

// TestRefusalNamesTheLimit: the refusal says which named limit refused (not its position), when
// it lets go, and nothing is counted on a refusal.
func TestRefusalNamesTheLimit(t *testing.T) {
	s, c := openStore(t), newClock()
	l := limits.New(s, map[limits.Name]limits.Rate{limits.LoginPerIP: {Max: 2, Per: 15 * time.Minute}, limits.LoginGlobal: {Max: 3}})
	a, b := limits.PerIP(ipCtx(t, "192.0.2.1"), limits.LoginPerIP), limits.PerIP(ipCtx(t, "192.0.2.2"), limits.LoginPerIP)
	all := limits.Hit{Name: limits.LoginGlobal}
	for range 2 {
		if r, err := l.Take(t.Context(), c.Now(), a, all); r != nil || err != nil {
			t.Fatalf("Take = %v, %v", r, err)
		}
	}
	r, err := l.Take(t.Context(), c.Now(), a, all)
	if err != nil || r == nil || r.Name != limits.LoginPerIP || r.Max != 2 {
		t.Fatalf("third from one IP: %+v, %v; want refused by %s", r, err, limits.LoginPerIP)
	}
	// The window is aligned on 15 minutes: 10:00:30 ends at 10:15:00.
	if want := 14*time.Minute + 30*time.Second; r.RetryAfter != want || !r.ResetAt.Equal(c.Now().Add(want)) {
		t.Errorf("RetryAfter %s ResetAt %s, want %s", r.RetryAfter, r.ResetAt, want)
	}
	if r, err := l.Take(t.Context(), c.Now(), b, all); r != nil || err != nil {
		t.Fatalf("other IP: %v, %v (the refusal must not have counted)", r, err)
	}
	r, err = l.Take(t.Context(), c.Now(), b, all)
	if err != nil || r == nil || r.Name != limits.LoginGlobal {
		t.Fatalf("fourth overall: %+v, %v; want refused by %s", r, err, limits.LoginGlobal)
	}
	c.Add(15 * time.Minute)
	if r, err := l.Take(t.Context(), c.Now(), a, all); r != nil || err != nil {
		t.Fatalf("next window: %v, %v", r, err)
	}
}

// TestUntake: a hit given back does not count, as for a right device code.
func TestUntake(t *testing.T) {
	s, c := openStore(t), newClock()
	l := limits.New(s, nil)
	ctx := ipCtx(t, "2001:db8::1")
	for range 30 {
		if r, err := l.Take(ctx, c.Now(), limits.DeviceCode(ctx)); r != nil || err != nil {
			t.Fatalf("Take = %v, %v", r, err)
		}
		if err := l.Untake(ctx, c.Now(), limits.DeviceCode(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if r, err := l.Take(ctx, c.Now(), limits.DeviceCode(ctx)); r != nil || err != nil {
			t.Fatalf("Take = %v, %v", r, err)
		}
	}
	// The same /64 is one client.
	other := ipCtx(t, "2001:db8::2")
	if r, _ := l.Take(other, c.Now(), limits.DeviceCode(other)); r == nil || r.Name != limits.DeviceCodePerIP {
		t.Fatalf("11th wrong code from the /64: %+v, want refused by %s", r, limits.DeviceCodePerIP)
	}
}

// TestReserveAndOff: a hit with a reserve gets the limit less its share (at least 1); a rate
// with a negative Max is no limit.
func TestReserveAndOff(t *testing.T) {
	s, c := openStore(t), newClock()
	l := limits.New(s, map[limits.Name]limits.Rate{limits.SMSGlobalHourly: {Max: 5}, limits.SMSIPHourly: {Max: -1}})
	reg := limits.Hit{Name: limits.SMSGlobalHourly, Reserve: 20}
	off := limits.Hit{Name: limits.SMSIPHourly, Subject: "192.0.2.1"}
	for range 4 {
		if r, err := l.Take(t.Context(), c.Now(), off, reg); r != nil || err != nil {
			t.Fatalf("Take = %v, %v", r, err)
		}
	}
	if r, _ := l.Take(t.Context(), c.Now(), off, reg); r == nil || r.Name != limits.SMSGlobalHourly || r.Max != 4 {
		t.Fatalf("5th registration: %+v, want refused at 4", r)
	}
	if r, _ := l.Take(t.Context(), c.Now(), limits.Hit{Name: limits.SMSGlobalHourly}); r != nil {
		t.Fatalf("a sign-in may use the reserve: %+v", r)
	}
	tiny := limits.New(s, map[limits.Name]limits.Rate{limits.SMSCountryDaily: {Max: 1}})
	if r, _ := tiny.Take(t.Context(), c.Now(), limits.Hit{Name: limits.SMSCountryDaily, Subject: "GB", Reserve: 99}); r != nil {
		t.Fatalf("a reserve leaves at least 1: %+v", r)
	}
	if !l.Rate(limits.SMSIPHourly).Off() || l.Rate(limits.SMSIPHourly).String() != "off" {
		t.Errorf("Rate(SMSIPHourly) = %v, want off", l.Rate(limits.SMSIPHourly))
	}
}

// TestNotAWindowLimit: failure runs and unknown names cannot be taken.
func TestNotAWindowLimit(t *testing.T) {
	l := limits.New(&recorder{}, nil)
	for _, n := range []limits.Name{limits.Recovery, limits.SMSFactor, limits.LoginPerPhone, "nope"} {
		if _, err := l.Take(t.Context(), time.Now(), limits.Hit{Name: n}); err == nil {
			t.Errorf("Take(%s) succeeded", n)
		}
	}
}

func TestParseRate(t *testing.T) {
	good := map[string]limits.Rate{
		"5/1h": {5, time.Hour}, " 10 / 24h ": {10, 24 * time.Hour}, "30/15m": {30, 15 * time.Minute}, "off": {-1, time.Hour},
	}
	for in, want := range good {
		if got, err := limits.ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5", "0/1h", "-1/1h", "x/1h", "5/0.5s", "5/x"} {
		if _, err := limits.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) succeeded", in)
		}
	}
	for r, want := range map[limits.Rate]string{{5, time.Hour}: "5/1h", {30, 15 * time.Minute}: "30/15m", {10, 90 * time.Second}: "10/1m30s", {3, 30 * time.Second}: "3/30s", {2, 25 * time.Hour}: "2/25h"} {
		if r.String() != want {
			t.Errorf("%#v.String() = %q, want %q", r, r.String(), want)
		}
	}
}

// TestConfig: the defaults are the table's and the documented ones; problems are all reported.
func TestConfig(t *testing.T) {
	c := limits.Config{SMSCountries: []string{" us", "ca"}, SMSPhoneHourly: limits.Rate{Max: 3}}.WithDefaults()
	if c.LoginThrottleAfter != 5 || c.LoginDelay != 30*time.Second || c.LoginMaxDelay != 15*time.Minute ||
		c.FailureReset != 12*time.Hour || c.ResendMaxInterval != 30*time.Minute || c.SMSFactorMaxFailures != 100 ||
		c.RecoveryMaxFailures != 10 || c.SMSReservePercent != 20 {
		t.Errorf("defaults: %+v", c)
	}
	if c.SMSPhoneHourly != (limits.Rate{3, time.Hour}) || c.LoginGlobal != (limits.Rate{600, time.Minute}) || c.SMSGlobalDaily != (limits.Rate{3000, 24 * time.Hour}) {
		t.Errorf("rates: %+v", c)
	}
	if !c.CountryAllowed("US") || !c.CountryAllowed("CA") || c.CountryAllowed("GB") || c.CountryAllowed("") {
		t.Errorf("CountryAllowed with %v", c.SMSCountries)
	}
	if got := c.Rates()[limits.SMSPhoneHourly]; got != (limits.Rate{3, time.Hour}) {
		t.Errorf("Rates()[SMSPhoneHourly] = %v", got)
	}
	if errs := c.Problems(); len(errs) != 0 {
		t.Errorf("Problems() = %v", errs)
	}
	bad := c
	bad.LoginThrottleAfter, bad.SMSReservePercent, bad.LoginMaxDelay = -1, 101, time.Second
	if errs := bad.Problems(); len(errs) != 3 {
		t.Errorf("Problems() = %v, want 3", errors.Join(errs...))
	}
	for n, want := range map[int]time.Duration{4: 0, 5: 30 * time.Second, 6: time.Minute, 9: 8 * time.Minute, 10: 15 * time.Minute, 50: 15 * time.Minute} {
		if got := c.LoginDelayAfter(n); got != want {
			t.Errorf("LoginDelayAfter(%d) = %s, want %s", n, got, want)
		}
	}
}
