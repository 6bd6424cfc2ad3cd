// Package deadline bounds every call to a storage.Storage: each one runs under its own
// context.WithTimeout (the server's OTPIDP_DB_TIMEOUT), whatever its caller's context says, so
// that no request and no background job waits on the database without limit. A call that runs
// out of time, or that the backend reports as unreachable (storage/postgres wraps
// storage.ErrUnavailable itself; a backend with an IsUnavailable method, storage/sqlite, is
// asked), returns an error wrapping storage.ErrUnavailable.
//
// A request can Watch its context: the calls made under it record whether one failed
// unavailable (so the HTTP layer answers 503 instead of whatever the handler made of the
// error), and once one has, the calls after it fail at once instead of each waiting out its
// own timeout. Ready answers a readiness probe without queueing behind a busy pool.
//
// The methods are generated from storage.Storage (methods.go, go generate ./storage/deadline):
// a method the interface gains is a compile error here until it is regenerated.
package deadline

//go:generate go run ./internal/gen/write

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// DefaultTimeout is the call timeout Wrap uses when given none.
const DefaultTimeout = 3 * time.Second

// freshFor is how recent a successful call must be for Ready to answer without a ping.
const freshFor = time.Second

// errTimeout is the cancellation cause of a call that ran out of its timeout.
var errTimeout = errors.New("deadline: the database did not answer within the call timeout")

// Store is a storage.Storage whose every call (but Migrate and Close) is bounded.
type Store struct {
	next     storage.Storage
	timeout  time.Duration
	classify func(error) bool

	lastOK, lastFailed atomic.Int64 // unix nanoseconds of the last success, of the last unavailable failure
}

var _ storage.Storage = (*Store)(nil)

// Wrap returns next with every call bounded by timeout (DefaultTimeout when zero or less).
func Wrap(next storage.Storage, timeout time.Duration) *Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s := &Store{next: next, timeout: timeout}
	if c, ok := next.(interface{ IsUnavailable(error) bool }); ok {
		s.classify = c.IsUnavailable
	}
	return s
}

// Timeout is the bound of each call.
func (s *Store) Timeout() time.Duration { return s.timeout }

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() storage.Storage { return s.next }

type watchKey struct{}

// Outcome records what the store calls made under a watched context met.
type Outcome struct{ unavailable atomic.Bool }

// Unavailable reports whether a call failed because the database was unavailable.
func (o *Outcome) Unavailable() bool { return o != nil && o.unavailable.Load() }

// Watch returns ctx with a fresh Outcome that the calls under it report to.
func Watch(ctx context.Context) (context.Context, *Outcome) {
	o := &Outcome{}
	return context.WithValue(ctx, watchKey{}, o), o
}

func outcomeOf(ctx context.Context) *Outcome {
	o, _ := ctx.Value(watchKey{}).(*Outcome)
	return o
}

// errShortCut is the error of a call not made because an earlier one under the same watched
// context found the database unavailable.
var errShortCut = fmt.Errorf("%w: an earlier call of this request found the database unavailable", storage.ErrUnavailable)

// call runs fn under the call timeout and classifies its error.
func (s *Store) call(ctx context.Context, fn func(context.Context) error) error {
	o := outcomeOf(ctx)
	if o.Unavailable() {
		return errShortCut
	}
	cctx, cancel := context.WithTimeoutCause(ctx, s.timeout, errTimeout)
	err := fn(cctx)
	timedOut := errors.Is(context.Cause(cctx), errTimeout)
	cancel()
	if err == nil || !s.unavailable(err, timedOut) {
		// ErrNotFound and the like are answers too: the database is there.
		s.lastOK.Store(time.Now().UnixNano())
		return err
	}
	s.lastFailed.Store(time.Now().UnixNano())
	if o != nil {
		o.unavailable.Store(true)
	}
	if errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	if timedOut {
		return fmt.Errorf("%w: no answer within %v: %w", storage.ErrUnavailable, s.timeout, err)
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// unavailable reports whether err says the database was unavailable. A call the caller
// cancelled (a client that went away) is not the database's fault; one past a deadline is.
func (s *Store) unavailable(err error, timedOut bool) bool {
	switch {
	case errors.Is(err, storage.ErrUnavailable), timedOut, errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, context.Canceled):
		return false
	}
	return s.classify != nil && s.classify(err)
}

// Ready reports whether the database answers, for a readiness probe. When a call succeeded in
// the last second and none has failed unavailable since, it answers at once: a pool busy
// with requests that complete is ready, and the probe does not queue behind them. Otherwise it
// pings under ctx (which should carry the probe's own short deadline).
func (s *Store) Ready(ctx context.Context) error {
	ok, failed := s.lastOK.Load(), s.lastFailed.Load()
	if ok > failed && time.Since(time.Unix(0, ok)) < freshFor {
		return nil
	}
	return s.Ping(ctx)
}

// Migrate is not bounded by the call timeout: migrations may take long, and run once at
// start under the caller's context.
func (s *Store) Migrate(ctx context.Context) error { return s.next.Migrate(ctx) }

// Close closes the wrapped store.
func (s *Store) Close() error { return s.next.Close() }
