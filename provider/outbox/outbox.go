// Package outbox sends what a request decided to send after the request has answered: the
// request seals a message and stores it in the store's outbox (Queue.Enqueue); a Drainer on
// any instance claims due messages under a lease, hands each to the handler of its kind and
// settles it. Text messages of password resets and registrations go through it (so their
// answers never wait on Twilio: SECURITY.md RST-01, REG-01), and so will back-channel logout
// tokens.
//
// The outbox is SECURITY.md OUT-01. Delivery is at most once (REL-07): a message is claimed by one drainer at a
// time (a conditional update in the store), settled as sent or failed by the claimer that
// holds it, and retried only when its handler says that nothing went out (Retry). A message
// whose claimer's lease ran out without settling it (the process died mid-send) may have been
// sent: the next claimer marks it failed instead of sending it again.
//
// Payloads are sealed with AES-256-GCM under a shared server secret ("outbox-aead"), bound to
// the message's ID and kind, and cleared from the store once the message is settled; settled
// rows are deleted after Config.Retention.
package outbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// secretName names the shared key that seals payloads.
const secretName = "outbox-aead"

// Store is what the outbox needs of the store.
type Store interface {
	storage.OutboxStorage
	// Secret returns the named shared secret, creating it with value when missing.
	Secret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Queue seals messages and stores them in the outbox. It is safe for concurrent use.
type Queue struct {
	store Store
	aead  cipher.AEAD
	now   func() time.Time

	mu    sync.Mutex
	wakes []chan struct{} // drainers of this process, woken by Enqueue
}

// NewQueue returns a queue on store, fetching (or creating) the sealing key. now is the clock
// (nil: time.Now).
func NewQueue(ctx context.Context, store Store, now func() time.Time) (*Queue, error) {
	if now == nil {
		now = time.Now
	}
	fresh := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, fresh); err != nil {
		return nil, fmt.Errorf("outbox: generate key: %w", err)
	}
	key, err := store.Secret(ctx, secretName, fresh)
	if err != nil {
		return nil, fmt.Errorf("outbox: get key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("outbox: key %q has %d bytes, want 32", secretName, len(key))
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Queue{store: store, aead: aead, now: now}, nil
}

// Enqueue seals payload and stores it as a pending message of kind, to be sent as soon as a
// drainer gets to it and never at or after expiresAt (zero: no expiry). It returns the
// message's ID and wakes this process's drainers.
func (q *Queue) Enqueue(ctx context.Context, kind string, payload []byte, expiresAt time.Time) (string, error) {
	raw := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, raw); err != nil {
		return "", fmt.Errorf("outbox: new ID: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	sealed, err := q.seal(id, kind, payload)
	if err != nil {
		return "", err
	}
	now := q.now().UTC()
	m := storage.OutboxMessage{ID: id, Kind: kind, Payload: sealed, NextAttemptAt: now, ExpiresAt: expiresAt, CreatedAt: now}
	if err := q.store.EnqueueOutbox(ctx, m); err != nil {
		return "", fmt.Errorf("outbox: enqueue: %w", err)
	}
	q.mu.Lock()
	for _, w := range q.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
	return id, nil
}

func aad(id, kind string) []byte { return []byte(kind + "\x00" + id) }

func (q *Queue) seal(id, kind string, payload []byte) ([]byte, error) {
	nonce := make([]byte, q.aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, fmt.Errorf("outbox: nonce: %w", err)
	}
	return q.aead.Seal(nonce, nonce, payload, aad(id, kind)), nil
}

var errUnreadable = errors.New("outbox: payload cannot be opened")

func (q *Queue) open(m storage.OutboxMessage) ([]byte, error) {
	n := q.aead.NonceSize()
	if len(m.Payload) < n {
		return nil, errUnreadable
	}
	p, err := q.aead.Open(nil, m.Payload[:n], m.Payload[n:], aad(m.ID, m.Kind))
	if err != nil {
		return nil, errUnreadable
	}
	return p, nil
}

func (q *Queue) register(w chan struct{}) {
	q.mu.Lock()
	q.wakes = append(q.wakes, w)
	q.mu.Unlock()
}

// Message is a claimed message, opened, as a handler gets it.
type Message struct {
	ID        string
	Kind      string
	Payload   []byte
	Attempt   int       // 1 for the first attempt
	ExpiresAt time.Time // zero: none
}

// Handler sends one message. nil settles it as sent; an error made by Retry gives it back for
// another attempt; any other error settles it as failed, under the class Fail gave it
// ("error" otherwise). A handler must not outlive ctx (it ends before the lease does).
type Handler func(ctx context.Context, m Message) error

// Failure is a handler's error with its class (stored as the message's last error: a short
// word, never a message body) and whether a retry is safe.
type Failure struct {
	Class      string
	Err        error
	Retry      bool
	RetryAfter time.Duration // 0: the drainer's backoff
}

func (f *Failure) Error() string { return fmt.Sprintf("outbox: %s: %v", f.Class, f.Err) }
func (f *Failure) Unwrap() error { return f.Err }

// Fail is a failure of class that must not be retried.
func Fail(class string, err error) error { return &Failure{Class: class, Err: err} }

// Retry is a failure of class after which nothing went out, so another attempt is safe, after
// the drainer's backoff or after (when positive).
func Retry(class string, err error, after time.Duration) error {
	return &Failure{Class: class, Err: err, Retry: true, RetryAfter: after}
}
