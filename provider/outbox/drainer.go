package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// Config configures a Drainer. Zero fields take the defaults beside them.
type Config struct {
	Owner       string        // this drainer's lease owner name; default: random
	Lease       time.Duration // how long a claim lasts; 1m. A handler gets at most Lease-5s
	Poll        time.Duration // how often the store is asked for due messages when idle; 1s
	Batch       int           // messages claimed (and sent concurrently) at once; 10
	MaxAttempts int           // attempts after which a retried message fails; 5
	Backoff     time.Duration // the first retry's wait, doubling per attempt; 5s
	MaxBackoff  time.Duration // the longest wait; 5m
	Retention   time.Duration // settled messages are deleted this long after; 24h
	GCInterval  time.Duration // how often this drainer deletes them; 10m
	Now         func() time.Time
	Logger      *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Lease, time.Minute)
	def(&c.Poll, time.Second)
	def(&c.Backoff, 5*time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	def(&c.Retention, 24*time.Hour)
	def(&c.GCInterval, 10*time.Minute)
	if c.Batch <= 0 {
		c.Batch = 10
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Owner == "" {
		b := make([]byte, 8)
		_, _ = io.ReadFull(rand.Reader, b)
		c.Owner = "drainer-" + hex.EncodeToString(b)
	}
	return c
}

// Drainer claims due messages of the kinds it has handlers for and sends them. Any number of
// drainers, on any number of instances, may drain one store.
type Drainer struct {
	q        *Queue
	cfg      Config
	handlers map[string]Handler
	wake     chan struct{}
	pass     sync.Mutex // one pass at a time (Run's or Settle's)
}

// NewDrainer returns a drainer of q's store; add handlers with Handle before Run.
func NewDrainer(q *Queue, cfg Config) *Drainer {
	d := &Drainer{q: q, cfg: cfg.withDefaults(), handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
	q.register(d.wake)
	return d
}

// Handle sets the handler of kind.
func (d *Drainer) Handle(kind string, h Handler) { d.handlers[kind] = h }

// Run drains until ctx ends: at once when this process enqueues, else every Poll; and deletes
// old settled messages every GCInterval. A pass in progress when ctx ends is finished with
// the handlers' own deadlines.
func (d *Drainer) Run(ctx context.Context) {
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	gc := time.NewTicker(d.cfg.GCInterval)
	defer gc.Stop()
	d.collect(ctx)
	for {
		n, err := d.DrainOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "outbox: claim failed", "error", err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-poll.C:
		case <-gc.C:
			d.collect(ctx)
		}
	}
}

// collect deletes the messages settled more than Retention ago.
func (d *Drainer) collect(ctx context.Context) {
	n, err := d.q.store.DeleteOutbox(ctx, d.cfg.Now().UTC().Add(-d.cfg.Retention))
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "outbox: delete settled messages", "error", err)
		}
		return
	}
	if n > 0 {
		d.cfg.Logger.DebugContext(ctx, "outbox: deleted settled messages", "count", n)
	}
}

// Settle drains until no message is due, waiting for any pass in progress: tests use it to
// see what a request enqueued as sent.
func (d *Drainer) Settle(ctx context.Context) error {
	for {
		n, err := d.DrainOnce(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// DrainOnce claims one batch of due messages, sends them concurrently and settles each; it
// returns how many it claimed.
func (d *Drainer) DrainOnce(ctx context.Context) (int, error) {
	d.pass.Lock()
	defer d.pass.Unlock()
	kinds := slices.Sorted(maps.Keys(d.handlers))
	now := d.cfg.Now().UTC()
	ms, err := d.q.store.ClaimOutbox(ctx, d.cfg.Owner, kinds, now, now.Add(d.cfg.Lease), d.cfg.Batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { d.process(context.WithoutCancel(ctx), m) })
	}
	wg.Wait()
	return len(ms), nil
}

// process sends one claimed message and settles it.
func (d *Drainer) process(ctx context.Context, m storage.OutboxMessage) {
	log := d.cfg.Logger.With("outbox_id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	finish := func(state storage.OutboxState, class string) {
		if err := d.q.store.FinishOutbox(ctx, m.ID, d.cfg.Owner, state, class, d.cfg.Now().UTC()); err != nil {
			log.WarnContext(ctx, "outbox: settle message", "state", string(state), "error", err)
		}
	}
	if m.LastError == storage.OutboxLeaseExpired {
		// Its claimer stopped mid-send: it may have gone out. At most once: never again.
		log.WarnContext(ctx, "outbox: message abandoned by a claimer that stopped; not sent again")
		finish(storage.OutboxFailed, storage.OutboxLeaseExpired)
		return
	}
	payload, err := d.q.open(m)
	if err != nil {
		log.ErrorContext(ctx, "outbox: payload cannot be opened (another key?)")
		finish(storage.OutboxFailed, "unreadable")
		return
	}
	hctx, cancel := context.WithTimeout(ctx, max(d.cfg.Lease-5*time.Second, d.cfg.Lease/2))
	err = d.handlers[m.Kind](hctx, Message{ID: m.ID, Kind: m.Kind, Payload: payload, Attempt: m.Attempts, ExpiresAt: m.ExpiresAt})
	cancel()
	clear(payload)
	if err == nil {
		finish(storage.OutboxSent, "")
		return
	}
	f := &Failure{Class: "error", Err: err}
	errors.As(err, &f)
	if !f.Retry || m.Attempts >= d.cfg.MaxAttempts {
		log.WarnContext(ctx, "outbox: message not sent", "class", f.Class)
		finish(storage.OutboxFailed, f.Class)
		return
	}
	wait := f.RetryAfter
	if wait <= 0 {
		wait = d.cfg.Backoff
		for i := 1; i < m.Attempts && wait < d.cfg.MaxBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, d.cfg.MaxBackoff)
	}
	now := d.cfg.Now().UTC()
	log.InfoContext(ctx, "outbox: message to be retried", "class", f.Class, "after", wait.String())
	if err := d.q.store.RetryOutbox(ctx, m.ID, d.cfg.Owner, now.Add(wait), f.Class, now); err != nil {
		log.WarnContext(ctx, "outbox: give back message", "error", err)
	}
}
