package sms_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
)

// breakerClock is a settable clock for the breaker's cool-down.
type breakerClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *breakerClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *breakerClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestBreakerTwilio runs the real Twilio sender against the fake Twilio, failing and then
// hanging: once the breaker opens no request reaches the fake until the cool-down ends, the
// probe after it goes through, and a probe that Twilio answers closes the breaker.
func TestBreakerTwilio(t *testing.T) {
	for _, failure := range []twiliotest.Failure{twiliotest.ServerError, twiliotest.Hang} {
		t.Run(failure.String(), func(t *testing.T) {
			fake := twiliotest.New(t)
			cfg := testConfig(fake)
			cfg.Timeout = 200 * time.Millisecond // a hang ends in ErrUnavailable after this
			clock := &breakerClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			var mu sync.Mutex
			var changes []string
			b := sms.NewBreaker(newTwilio(t, cfg), sms.BreakerConfig{
				Failures: 3, CoolDown: time.Minute, Now: clock.Now,
				OnStateChange: func(from, to sms.BreakerState) {
					mu.Lock()
					defer mu.Unlock()
					changes = append(changes, from.String()+"→"+to.String())
				},
			})
			ctx := t.Context()
			msg := sms.Message{To: testTo, Body: testBody}

			if err := b.Send(ctx, msg); err != nil {
				t.Fatalf("first send: %v", err)
			}
			fake.FailAlways(failure)
			for i := range 3 {
				err := b.Send(ctx, msg)
				if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrCircuitOpen) {
					t.Fatalf("failing send %d: %v, want the provider's ErrUnavailable", i, err)
				}
			}
			if got := b.State(); got != sms.BreakerOpen {
				t.Fatalf("after 3 failures the breaker is %v, want open", got)
			}
			reached := fake.Requests()
			for range 10 {
				start := time.Now()
				err := b.Send(ctx, msg)
				if !errors.Is(err, sms.ErrCircuitOpen) || !errors.Is(err, sms.ErrUnavailable) {
					t.Fatalf("send while open: %v, want ErrCircuitOpen (an ErrUnavailable)", err)
				}
				if d := time.Since(start); d >= cfg.Timeout {
					t.Fatalf("send while open took %v: it did not fail fast", d)
				}
			}
			if got := fake.Requests(); got != reached {
				t.Fatalf("%d requests reached Twilio while the breaker was open", got-reached)
			}

			// The cool-down ends while Twilio still fails: one probe, which opens it again.
			clock.Add(time.Minute)
			if err := b.Send(ctx, msg); errors.Is(err, sms.ErrCircuitOpen) || !errors.Is(err, sms.ErrUnavailable) {
				t.Fatalf("probe: %v, want Twilio's failure", err)
			}
			if got := fake.Requests(); got != reached+1 {
				t.Fatalf("the probe made %d requests, want 1", got-reached)
			}
			if err := b.Send(ctx, msg); !errors.Is(err, sms.ErrCircuitOpen) {
				t.Fatalf("after a failed probe: %v, want ErrCircuitOpen", err)
			}

			// Twilio recovers: the next probe goes through and closes the breaker.
			fake.FailAlways(0)
			clock.Add(time.Minute)
			if err := b.Send(ctx, msg); err != nil {
				t.Fatalf("probe after Twilio recovered: %v", err)
			}
			if got := b.State(); got != sms.BreakerClosed {
				t.Fatalf("after a good probe the breaker is %v, want closed", got)
			}
			if err := b.Send(ctx, msg); err != nil {
				t.Fatalf("send after closing: %v", err)
			}
			if got, want := len(fake.Messages()), 3; got != want {
				t.Fatalf("Twilio accepted %d messages, want %d", got, want)
			}
			mu.Lock()
			defer mu.Unlock()
			want := []string{"closed→open", "open→half_open", "half_open→open", "open→half_open", "half_open→closed"}
			if len(changes) != len(want) {
				t.Fatalf("state changes %v, want %v", changes, want)
			}
			for i := range want {
				if changes[i] != want[i] {
					t.Fatalf("state changes %v, want %v", changes, want)
				}
			}
		})
	}
}

// TestBreakerCounts checks what counts as a provider failure: refusals of the number and
// successes reset the run, the journal's ErrAlreadySent and a caller that went away count
// neither way, and only one probe runs at a time.
func TestBreakerCounts(t *testing.T) {
	undeliverable := errors.Join(sms.ErrUndeliverable)
	unavailable := errors.Join(sms.ErrUnavailable)
	t.Run("a refused number resets the run", func(t *testing.T) {
		results := []error{unavailable, unavailable, undeliverable, unavailable, unavailable}
		b := sms.NewBreaker(sms.SenderFunc(func(context.Context, sms.Message) error {
			err := results[0]
			results = results[1:]
			return err
		}), sms.BreakerConfig{Failures: 3})
		for range 5 {
			_ = b.Send(t.Context(), sms.Message{})
		}
		if got := b.State(); got != sms.BreakerClosed {
			t.Fatalf("state %v, want closed: no three failures in a row", got)
		}
	})
	t.Run("a deadline counts, ErrAlreadySent and a cancelled caller do not", func(t *testing.T) {
		results := []error{context.DeadlineExceeded, sms.ErrAlreadySent, context.Canceled, unavailable}
		b := sms.NewBreaker(sms.SenderFunc(func(context.Context, sms.Message) error {
			err := results[0]
			results = results[1:]
			return err
		}), sms.BreakerConfig{Failures: 2})
		for range 3 {
			_ = b.Send(t.Context(), sms.Message{})
		}
		if got := b.State(); got != sms.BreakerClosed {
			t.Fatalf("state %v after one failure, want closed", got)
		}
		_ = b.Send(t.Context(), sms.Message{})
		if got := b.State(); got != sms.BreakerOpen {
			t.Fatalf("state %v after two failures, want open", got)
		}
	})
	t.Run("one probe at a time", func(t *testing.T) {
		clock := &breakerClock{t: time.Now()}
		release, entered := make(chan struct{}), make(chan struct{}, 10)
		fail := true
		b := sms.NewBreaker(sms.SenderFunc(func(context.Context, sms.Message) error {
			if fail {
				return unavailable
			}
			entered <- struct{}{}
			<-release
			return nil
		}), sms.BreakerConfig{Failures: 1, CoolDown: time.Second, Now: clock.Now})
		_ = b.Send(t.Context(), sms.Message{})
		fail = false
		clock.Add(time.Second)
		done := make(chan error, 1)
		go func() { done <- b.Send(t.Context(), sms.Message{}) }()
		<-entered
		if got := b.State(); got != sms.BreakerHalfOpen {
			t.Fatalf("state %v during the probe, want half_open", got)
		}
		if err := b.Send(t.Context(), sms.Message{}); !errors.Is(err, sms.ErrCircuitOpen) {
			t.Fatalf("second send during the probe: %v, want ErrCircuitOpen", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("probe: %v", err)
		}
		if got := b.State(); got != sms.BreakerClosed {
			t.Fatalf("state %v after the probe, want closed", got)
		}
	})
	t.Run("a probe the provider never saw lets the next send probe", func(t *testing.T) {
		clock := &breakerClock{t: time.Now()}
		results := []error{unavailable, sms.ErrAlreadySent, nil}
		calls := 0
		b := sms.NewBreaker(sms.SenderFunc(func(context.Context, sms.Message) error {
			calls++
			err := results[0]
			results = results[1:]
			return err
		}), sms.BreakerConfig{Failures: 1, CoolDown: time.Minute, Now: clock.Now})
		_ = b.Send(t.Context(), sms.Message{})
		clock.Add(time.Minute)
		if err := b.Send(t.Context(), sms.Message{}); !errors.Is(err, sms.ErrAlreadySent) {
			t.Fatalf("probe: %v", err)
		}
		if err := b.Send(t.Context(), sms.Message{}); err != nil {
			t.Fatalf("next probe: %v", err)
		}
		if calls != 3 || b.State() != sms.BreakerClosed {
			t.Fatalf("calls %d, state %v; want 3 calls and closed", calls, b.State())
		}
	})
}
