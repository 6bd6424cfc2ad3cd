package sms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrCircuitOpen is what a Breaker answers, at once, while it is open: the provider failed
// too often in a row and is not asked again until the cool-down ends. It wraps ErrUnavailable,
// so callers treat it as any other provider outage (the user is told to try again later, or
// takes the recovery-code path), without waiting for a request that would hang or fail.
var ErrCircuitOpen = fmt.Errorf("%w: circuit breaker open", ErrUnavailable)

// BreakerState is the state of a Breaker.
type BreakerState int

// The states of a Breaker.
const (
	BreakerClosed   BreakerState = iota // every send goes to the provider
	BreakerOpen                         // every send fails fast with ErrCircuitOpen
	BreakerHalfOpen                     // one probe send is on its way; the others fail fast
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}

// Defaults of BreakerConfig.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCoolDown = 30 * time.Second
)

// BreakerConfig configures a Breaker. Zero fields take the defaults.
type BreakerConfig struct {
	// Failures is the number of provider failures in a row that opens the breaker.
	Failures int
	// CoolDown is how long the breaker stays open before one probe send is let through.
	CoolDown time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// OnStateChange, when set, is called (without the Breaker's lock held) after each change
	// of state: for a metric or a log line.
	OnStateChange func(from, to BreakerState)
}

// Breaker is a circuit breaker around a Sender. A provider failure (an error wrapping
// ErrUnavailable, or a deadline that ran out) counts against it; a send the provider answered
// (sent, or refused the number) resets the count. After Failures failures in a row it opens:
// sends fail at once with ErrCircuitOpen and never reach the provider. After CoolDown the next
// send is a probe and goes through (the others keep failing fast while it runs); its success
// closes the breaker, its failure opens it for another CoolDown. A send the provider never saw
// (ErrAlreadySent from the journal, a caller that went away) counts neither way.
//
// A Breaker is per process: each instance learns about the provider on its own.
type Breaker struct {
	next     Sender
	failures int
	coolDown time.Duration
	now      func() time.Time
	onChange func(from, to BreakerState)

	mu       sync.Mutex
	state    BreakerState
	run      int       // provider failures in a row while closed
	openedAt time.Time // when it last opened
}

// NewBreaker returns a closed Breaker around next.
func NewBreaker(next Sender, cfg BreakerConfig) *Breaker {
	b := &Breaker{next: next, failures: cfg.Failures, coolDown: cfg.CoolDown, now: cfg.Now, onChange: cfg.OnStateChange}
	if b.failures <= 0 {
		b.failures = DefaultBreakerFailures
	}
	if b.coolDown <= 0 {
		b.coolDown = DefaultBreakerCoolDown
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

// State is the breaker's state now.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Send sends m through the wrapped Sender unless the breaker is open.
func (b *Breaker) Send(ctx context.Context, m Message) error {
	probe, err := b.allow()
	if err != nil {
		return err
	}
	err = b.next.Send(ctx, m)
	b.record(probe, breakerOutcome(err))
	return err
}

type breakerResult int

const (
	providerAnswered breakerResult = iota // the provider took the message or refused the number
	providerFailed                        // the provider failed, timed out or throttled us
	providerNotAsked                      // the provider was not asked, or the caller went away
)

func breakerOutcome(err error) breakerResult {
	switch {
	case err == nil:
		return providerAnswered
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return providerFailed
	case errors.Is(err, ErrAlreadySent), errors.Is(err, context.Canceled):
		return providerNotAsked
	}
	return providerAnswered // ErrUndeliverable and other refusals: the provider is up
}

// allow says whether a send may go to the provider now, and whether it is the probe.
func (b *Breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	switch b.state {
	case BreakerClosed:
		b.mu.Unlock()
		return false, nil
	case BreakerOpen:
		if b.now().Sub(b.openedAt) >= b.coolDown {
			b.state = BreakerHalfOpen
			b.mu.Unlock()
			b.changed(BreakerOpen, BreakerHalfOpen)
			return true, nil
		}
	}
	b.mu.Unlock()
	return false, ErrCircuitOpen // open, or half-open with its probe under way
}

// record counts the result of a send that allow let through.
func (b *Breaker) record(probe bool, o breakerResult) {
	b.mu.Lock()
	from := b.state
	switch {
	case probe && o == providerAnswered:
		b.state, b.run = BreakerClosed, 0
	case probe && o == providerFailed:
		b.state, b.openedAt = BreakerOpen, b.now()
	case probe: // neutral: the provider was not tried; the next send probes
		b.state, b.openedAt = BreakerOpen, b.openedAt.Add(-b.coolDown)
	case b.state != BreakerClosed:
		// A send let through while closed ended after the breaker opened: already counted.
	case o == providerAnswered:
		b.run = 0
	case o == providerFailed:
		b.run++
		if b.run >= b.failures {
			b.state, b.openedAt, b.run = BreakerOpen, b.now(), 0
		}
	}
	to := b.state
	b.mu.Unlock()
	if from != to {
		b.changed(from, to)
	}
}

func (b *Breaker) changed(from, to BreakerState) {
	if b.onChange != nil {
		b.onChange(from, to)
	}
}
