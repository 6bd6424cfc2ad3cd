package limits

import (
	"context"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// Counter is the part of the store a Limiter counts in (storage.LimitStore's).
type Counter interface {
	Take(ctx context.Context, now time.Time, limits ...storage.Limit) (*storage.Refusal, error)
	Untake(ctx context.Context, now time.Time, limits ...storage.Limit) error
}

// Hit is one event counted against the named window limit for one subject (the client IP's
// limit key, a phone number, a region, a client_id; empty for a global limit).
type Hit struct {
	Name    Name
	Subject string
	// Reserve is the percent of the limit this hit may not use: registrations and resets keep
	// off the share of the SMS budget kept for sign-ins. A positive Max stays at least 1.
	Reserve int
}

// PerIP is a hit on the named per-IP limit for the client IP of the request ctx carries
// (reqinfo: IPv4 as is, IPv6 by its /64).
func PerIP(ctx context.Context, n Name) Hit {
	return Hit{Name: n, Subject: reqinfo.From(ctx).LimitKey()}
}

// DeviceCode is the hit of one device user code typed on the device page, against the client
// IP's DeviceCodePerIP limit: take it before looking the code up, give it back (Untake) when
// the code was right, so only wrong codes stay counted.
func DeviceCode(ctx context.Context) Hit { return PerIP(ctx, DeviceCodePerIP) }

// Refusal says which named limit refused a Take, and for how long.
type Refusal struct {
	Name       Name
	Max        int           // the limit's Max, for logs
	Window     time.Duration // the limit's window, for logs
	ResetAt    time.Time     // the end of the refusing window
	RetryAfter time.Duration // whole seconds until ResetAt, at least one
}

// Limiter counts events against named window limits, with the configured rates.
type Limiter struct {
	store Counter
	rates map[Name]Rate
}

// New returns a Limiter counting in store. rates overrides the table's default rates by name
// (zero fields keep the default, a negative Max turns the limit off); it may be nil.
func New(store Counter, rates map[Name]Rate) *Limiter {
	l := &Limiter{store: store, rates: map[Name]Rate{}}
	for n, s := range table {
		if s.Factor == "" && !s.Memory {
			l.rates[n] = rates[n].orDefault(s.Default)
		}
	}
	return l
}

// Rate returns the rate the Limiter applies to the named window limit.
func (l *Limiter) Rate(n Name) Rate { return l.rates[n] }

// limit is the store's limit of h: the key, window and max it is counted under.
func (l *Limiter) limit(h Hit) (storage.Limit, error) {
	s, ok := table[h.Name]
	if !ok || s.Factor != "" || s.Memory {
		return storage.Limit{}, fmt.Errorf("limits: %q is not a window limit of the store", h.Name)
	}
	r := l.rates[h.Name]
	n := r.Max
	if h.Reserve > 0 && n > 0 {
		n = max(n-n*h.Reserve/100, 1)
	}
	return storage.Limit{Key: s.Prefix + h.Subject + "/" + r.Per.String(), Window: r.Per, Max: n}, nil
}

func (l *Limiter) limits(hits []Hit) ([]storage.Limit, error) {
	out := make([]storage.Limit, len(hits))
	for i, h := range hits {
		sl, err := l.limit(h)
		if err != nil {
			return nil, err
		}
		out[i] = sl
	}
	return out, nil
}

// Take counts one event against every hit, all or nothing: nil when each is under its limit,
// else the first refusing one (in the order given) and nothing counted.
func (l *Limiter) Take(ctx context.Context, now time.Time, hits ...Hit) (*Refusal, error) {
	sl, err := l.limits(hits)
	if err != nil {
		return nil, err
	}
	r, err := l.store.Take(ctx, now, sl...)
	if err != nil || r == nil {
		return nil, err
	}
	for i, x := range sl {
		if x == r.Limit {
			return &Refusal{Name: hits[i].Name, Max: x.Max, Window: x.Window, ResetAt: r.ResetAt, RetryAfter: RetryAfter(r.ResetAt, now)}, nil
		}
	}
	return nil, fmt.Errorf("limits: the store refused an unknown limit %q", r.Limit.Key)
}

// Untake gives back one event taken in the window of now: a success that should not count
// against a failure limit.
func (l *Limiter) Untake(ctx context.Context, now time.Time, hits ...Hit) error {
	sl, err := l.limits(hits)
	if err != nil {
		return err
	}
	return l.store.Untake(ctx, now, sl...)
}
