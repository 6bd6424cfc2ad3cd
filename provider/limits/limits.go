// Package limits is the one home of otpidp's rate limits: every limit has a Name, and one table
// (Spec) says for each how its counter is keyed in the store, its default rate and what it
// protects. A Limiter counts events against named limits in the shared store (storage's
// Take/Untake, atomic across instances) and says which named limit refused, never by position.
//
// Two kinds of limits live here. Window limits count events per fixed window (at most Max per
// Per) under a store key Prefix+subject+"/"+window. Failure runs count consecutive failures of
// one account or phone number (storage.LimitStore's GetFailures/RecordFailure under a factor);
// their rules (delays, lockouts, restoring a factor) are applied by the authentication core,
// provider/auth, with the settings of Config.
//
// The protocol limits (Spec.Memory) are the exception: token buckets kept per instance in
// memory (Buckets), so that a protocol request costs no database write; the limits that
// protect accounts (passwords, codes, SMS) stay shared in the store.
package limits

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Name names one limit. The values appear in logs; store keys come from Spec.Prefix.
type Name string

// Window limits: counted per fixed window in the store.
const (
	LoginPerIP      Name = "login_ip"        // failed sign-ins per client IP
	LoginGlobal     Name = "login_global"    // failed sign-ins overall
	SMSPhoneHourly  Name = "sms_phone_1h"    // codes texted to one number, per hour
	SMSPhoneDaily   Name = "sms_phone_24h"   // codes texted to one number, per day
	SMSPrefixHourly Name = "sms_prefix_1h"   // codes texted to numbers sharing all but the last 4 digits
	SMSIPHourly     Name = "sms_ip_1h"       // codes asked for from one client IP
	SMSCountryDaily Name = "sms_country_24h" // codes texted to one region, per day
	SMSGlobalHourly Name = "sms_global_1h"   // the hourly SMS budget
	SMSGlobalDaily  Name = "sms_global_24h"  // the daily SMS budget
	DeviceCodePerIP Name = "device_code_ip"  // wrong device user codes typed from one client IP
)

// Protocol limits: token buckets kept per instance in memory (Buckets), never in the store.
const (
	ProtocolPerIP       Name = "protocol_ip"        // protocol requests that authenticate no client, per client IP
	ProtocolFailedPerIP Name = "protocol_failed_ip" // failed client authentications per client IP
	ProtocolPerClient   Name = "protocol_client"    // requests of one authenticated client
)

// The sign-in budget: codes texted after a right password, which resets and registrations
// (the SMS limits above, except the global budget) never spend.
const (
	SMSSignInPhoneHourly Name = "sms_signin_phone_1h"  // sign-in codes texted to one number, per hour
	SMSSignInPhoneDaily  Name = "sms_signin_phone_24h" // sign-in codes texted to one number, per day
)

// Failure runs: consecutive failures kept per subject and factor (Spec.Factor).
const (
	LoginPerPhone Name = "login_phone" // wrong passwords in a row for one phone number: delays
	SMSFactor     Name = "sms_factor"  // wrong SMS codes in a row for one account: the factor is disabled
	Recovery      Name = "recovery"    // wrong recovery codes in a row for one account: checks stop
)

// Failure-run factors (storage.LimitStore's factor argument).
const (
	FactorPassword = "password" // subject: PhoneSubject(e164)
	FactorSMS      = "sms"      // subject: the user ID
	FactorRecovery = "recovery" // subject: the user ID
)

// DefaultFailureReset is how long after its last failure a password or recovery-code run
// ends by itself (Config.FailureReset).
const DefaultFailureReset = 12 * time.Hour

// Spec describes one limit.
type Spec struct {
	// Prefix starts the store key of a window limit: the key is Prefix+subject+"/"+window
	// ("sms:phone:+15551234567/1h0m0s"); global limits have no subject.
	Prefix string
	// Factor is the failure-run factor of a run; empty for a window limit.
	Factor string
	// Memory is true for a limit counted per instance in memory (Buckets: a token bucket of
	// Default.Max tokens refilled at Default.Max per Default.Per), never in the store.
	Memory bool
	// Subject says what one counter is kept for.
	Subject string
	// Default is the rate when none is configured. For a run, Max is the number of failures
	// that acts and Per how long after its last failure the run ends (0: never by itself).
	Default Rate
	// Protects says what the limit is for.
	Protects string
	// Budget says, for an SMS limit, which texts it counts: BudgetSignIn (after a right
	// password: sign-in codes, resends, password notices), BudgetRequest (asked for by anyone:
	// password resets and registrations, for numbers with and without an account alike) or
	// BudgetAll (both; the request side stops at the sign-in reserve).
	Budget string
}

// SMS budgets (Spec.Budget).
const (
	BudgetSignIn  = "sign-in"
	BudgetRequest = "reset and registration"
	BudgetAll     = "all texts"
)

// table is every limit otpidp enforces. Store keys and defaults never change silently: rows
// already in a store must keep their meaning.
var table = map[Name]Spec{
	LoginPerIP:      {Prefix: "login:ip:", Subject: "client IP (IPv6: its /64)", Default: Rate{30, 15 * time.Minute}, Protects: "passwords against guessing from one network (PH-06)"},
	LoginGlobal:     {Prefix: "login:all", Subject: "", Default: Rate{600, time.Minute}, Protects: "passwords against distributed guessing, and the hashing CPU"},
	SMSPhoneHourly:  {Prefix: "sms:phone:", Subject: "E.164 number", Default: Rate{5, time.Hour}, Protects: "one number against being flooded with texts by resets and registrations", Budget: BudgetRequest},
	SMSPhoneDaily:   {Prefix: "sms:phone:", Subject: "E.164 number", Default: Rate{10, 24 * time.Hour}, Protects: "one number against being flooded with texts by resets and registrations", Budget: BudgetRequest},
	SMSPrefixHourly: {Prefix: "sms:prefix:", Subject: "number without + and its last 4 digits", Default: Rate{10, time.Hour}, Protects: "the SMS budget against pumping through number ranges", Budget: BudgetRequest},
	SMSIPHourly:     {Prefix: "sms:ip:", Subject: "client IP (IPv6: its /64)", Default: Rate{10, time.Hour}, Protects: "the SMS budget against one network", Budget: BudgetRequest},
	SMSCountryDaily: {Prefix: "sms:country:", Subject: "ISO 3166 region of the number", Default: Rate{1000, 24 * time.Hour}, Protects: "the SMS budget against pumping to expensive destinations", Budget: BudgetRequest},
	SMSGlobalHourly: {Prefix: "sms:global", Subject: "", Default: Rate{300, time.Hour}, Protects: "the SMS bill (part kept for sign-ins: Hit.Reserve)", Budget: BudgetAll},
	SMSGlobalDaily:  {Prefix: "sms:global", Subject: "", Default: Rate{3000, 24 * time.Hour}, Protects: "the SMS bill (part kept for sign-ins: Hit.Reserve)", Budget: BudgetAll},
	DeviceCodePerIP: {Prefix: "device:ip:", Subject: "client IP (IPv6: its /64)", Default: Rate{10, 15 * time.Minute}, Protects: "live device user codes (20^8) against being searched"},

	ProtocolPerIP:       {Prefix: "proto:ip:", Memory: true, Subject: "client IP (IPv6: its /64)", Default: Rate{300, time.Minute}, Protects: "the token, introspection, revocation and device endpoints against load from requests that authenticate no client (public clients, failures)"},
	ProtocolFailedPerIP: {Prefix: "proto:failed:", Memory: true, Subject: "client IP (IPv6: its /64)", Default: Rate{30, time.Minute}, Protects: "client secrets and keys against guessing: failed client authentications"},
	ProtocolPerClient:   {Prefix: "proto:client:", Memory: true, Subject: "client_id of an authenticated confidential client", Default: Rate{5000, time.Second}, Protects: "the same endpoints against one client's load, counted only once it has authenticated"},

	// The sign-in budget (BudgetSignIn).
	SMSSignInPhoneHourly: {Prefix: "sms:signin:phone:", Subject: "E.164 number", Default: Rate{5, time.Hour}, Protects: "one account's sign-in texts, apart from what strangers can ask for", Budget: BudgetSignIn},
	SMSSignInPhoneDaily:  {Prefix: "sms:signin:phone:", Subject: "E.164 number", Default: Rate{10, 24 * time.Hour}, Protects: "one account's sign-in texts, apart from what strangers can ask for", Budget: BudgetSignIn},

	LoginPerPhone: {Factor: FactorPassword, Subject: "\"phone:\" + E.164 number, known or not", Default: Rate{5, DefaultFailureReset}, Protects: "one account's password: delays doubling from Config.LoginDelay"},
	SMSFactor:     {Factor: FactorSMS, Subject: "user ID", Default: Rate{100, 0}, Protects: "one account's SMS codes: the factor is disabled until restored (OTP-06)"},
	Recovery:      {Factor: FactorRecovery, Subject: "user ID", Default: Rate{10, DefaultFailureReset}, Protects: "one account's recovery codes: no check until the run ends"},
}

// Lookup returns the limit's Spec; ok is false for a name not in the table.
func Lookup(n Name) (s Spec, ok bool) {
	s, ok = table[n]
	return s, ok
}

// Names returns every limit's name, sorted.
func Names() []Name {
	names := make([]Name, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PhoneSubject is the subject of a phone number's password failure run.
func PhoneSubject(e164 string) string { return "phone:" + e164 }

// Rate is at most Max events per Per. The zero Rate takes the default of its limit; a negative
// Max turns the limit off.
type Rate struct {
	Max int
	Per time.Duration
}

func (r Rate) String() string {
	if r.Max < 0 {
		return "off"
	}
	return strconv.Itoa(r.Max) + "/" + shortDuration(r.Per)
}

// Off reports whether the rate turns its limit off.
func (r Rate) Off() bool { return r.Max < 0 }

// orDefault fills a zero Max or Per from d.
func (r Rate) orDefault(d Rate) Rate {
	if r.Max == 0 {
		r.Max = d.Max
	}
	if r.Per == 0 {
		r.Per = d.Per
	}
	return r
}

// ParseRate parses "N/DURATION" ("5/1h", "10/24h", "30/15m") or "off".
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Rate{Max: -1, Per: time.Hour}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, errors.New(`must be COUNT/DURATION like "5/1h", or "off"`)
	}
	max, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || max < 1 {
		return Rate{}, errors.New("the count must be a whole number of at least 1")
	}
	per, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || per < time.Second {
		return Rate{}, errors.New(`the duration must be like "1m", "1h" or "24h", at least 1s`)
	}
	return Rate{Max: max, Per: per}, nil
}

// shortDuration drops the zero minutes and seconds of d: "1h", "15m", "1m30s", "30s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// RetryAfter is the whole seconds from now until t, at least one.
func RetryAfter(t, now time.Time) time.Duration {
	d := t.Sub(now)
	if d < time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
