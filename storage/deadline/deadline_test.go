package deadline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// stalled is a store whose GetUser and Ping wait for their context, as a database that
// accepted the statement and never answers.
type stalled struct {
	storage.Storage // nil: other methods are not called
	calls           atomic.Int32
	answer          error // when set, GetUser returns it at once instead
}

func (s *stalled) GetUser(ctx context.Context, id string) (storage.User, error) {
	s.calls.Add(1)
	if s.answer != nil {
		return storage.User{}, s.answer
	}
	<-ctx.Done()
	return storage.User{}, ctx.Err()
}

func (s *stalled) Ping(ctx context.Context) error {
	s.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func TestCallTimeout(t *testing.T) {
	s := Wrap(&stalled{}, 50*time.Millisecond)
	_, err := s.GetUser(t.Context(), "u") // t.Context has no deadline: only the call's own
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("GetUser on a stalled database = %v, want ErrUnavailable", err)
	}
}

func TestWatchShortCuts(t *testing.T) {
	inner := &stalled{}
	s := Wrap(inner, 30*time.Millisecond)
	ctx, o := Watch(t.Context())
	if o.Unavailable() {
		t.Fatal("a fresh outcome is unavailable")
	}
	_, _ = s.GetUser(ctx, "u")
	if !o.Unavailable() {
		t.Fatal("the outcome did not record the unavailable call")
	}
	begin := time.Now()
	_, err := s.GetUser(ctx, "u")
	if !errors.Is(err, storage.ErrUnavailable) || inner.calls.Load() != 1 {
		t.Fatalf("second call under the watch = %v after %d backend calls, want ErrUnavailable without a call", err, inner.calls.Load())
	}
	if time.Since(begin) > time.Second {
		t.Errorf("the short-cut call took %v", time.Since(begin))
	}
	// Another request is not affected.
	if _, err := s.GetUser(t.Context(), "u"); inner.calls.Load() != 2 || !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("unwatched call = %v, %d calls", err, inner.calls.Load())
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name   string
		answer error
		want   bool
	}{
		{"not found", storage.ErrNotFound, false},
		{"backend says unavailable", storage.ErrUnavailable, true},
		{"caller's deadline", context.DeadlineExceeded, true},
		{"caller went away", context.Canceled, false},
		{"classified by the backend", errBusy, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Wrap(&classifying{stalled: stalled{answer: tt.answer}}, time.Second)
			ctx, o := Watch(t.Context())
			_, err := s.GetUser(ctx, "u")
			if got := errors.Is(err, storage.ErrUnavailable); got != tt.want || o.Unavailable() != tt.want {
				t.Errorf("GetUser = %v (outcome %v), want unavailable %v", err, o.Unavailable(), tt.want)
			}
			if !errors.Is(err, tt.answer) {
				t.Errorf("GetUser = %v, does not wrap %v", err, tt.answer)
			}
		})
	}
}

var errBusy = errors.New("database is locked")

type classifying struct{ stalled }

func (c *classifying) IsUnavailable(err error) bool { return errors.Is(err, errBusy) }

func TestReady(t *testing.T) {
	inner := &stalled{answer: storage.ErrNotFound}
	s := Wrap(inner, time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := s.Ready(ctx); err == nil {
		t.Fatal("Ready with no call yet and a stalled ping = nil")
	}
	// A call that completed (ErrNotFound is an answer) makes the store ready without a ping.
	if _, err := s.GetUser(t.Context(), "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	calls := inner.calls.Load()
	if err := s.Ready(t.Context()); err != nil || inner.calls.Load() != calls {
		t.Fatalf("Ready after a recent success = %v, %d pings", err, inner.calls.Load()-calls)
	}
	// An unavailable failure since then makes it ping again.
	s.lastFailed.Store(time.Now().UnixNano() + 1)
	ctx2, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if err := s.Ready(ctx2); err == nil {
		t.Fatal("Ready after an unavailable failure and a stalled ping = nil")
	}
}
