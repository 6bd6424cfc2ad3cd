package storage

import (
	"context"
	"time"
)

// OutboxState is where an outbox message is in its life.
type OutboxState string

// Outbox states. A message is pending until a claimer settles it as sent or failed; settled
// messages keep no payload and are garbage-collected (DeleteOutbox).
const (
	OutboxPending OutboxState = "pending"
	OutboxSent    OutboxState = "sent"
	OutboxFailed  OutboxState = "failed"
)

// OutboxMessage is one durable delivery: something a request decided to send (a text message,
// later a back-channel logout token) that a background drainer on any instance sends after the
// request has answered. The store does not read Payload: producers seal it (provider/outbox).
type OutboxMessage struct {
	ID      string // unique; the producer's (random) ID, also the message's idempotency key
	Kind    string // which handler sends it ("sms", …)
	Payload []byte // opaque (sealed by the producer); nil once the message is settled

	State         OutboxState
	Attempts      int       // claims so far
	NextAttemptAt time.Time // not claimed before then
	ExpiresAt     time.Time // never sent at or after then; zero: no expiry

	LeaseOwner     string    // the claimer holding (or, after a crash, last holding) it; "" when free
	LeaseExpiresAt time.Time // a lease ends then; the message may be claimed again after it
	LastError      string    // the class of the last failure ("unavailable", "lease_expired", …); never a body

	CreatedAt time.Time
	UpdatedAt time.Time
}

// OutboxLeaseExpired is the LastError ClaimOutbox gives a message whose previous claimer's lease
// ran out without settling it (the claimer crashed or hung): it may or may not have been sent.
const OutboxLeaseExpired = "lease_expired"

// OutboxStorage keeps the outbox. Claims are conditional updates: of any number of concurrent
// claimers (on any number of instances), exactly one gets each message.
type OutboxStorage interface {
	// EnqueueOutbox stores m as pending with no lease and no attempts (m's State, Attempts,
	// lease and LastError are ignored); UpdatedAt = CreatedAt. ErrAlreadyExists for a taken ID.
	EnqueueOutbox(ctx context.Context, m OutboxMessage) error
	// ClaimOutbox leases to owner, until leaseUntil, up to limit pending messages of the given
	// kinds that are due (NextAttemptAt <= now), not expired (ExpiresAt zero or after now) and
	// whose lease is free or has expired (LeaseExpiresAt <= now), earliest due first; it
	// increments their Attempts and returns them as claimed. A message taken over from an
	// expired lease gets LastError OutboxLeaseExpired.
	ClaimOutbox(ctx context.Context, owner string, kinds []string, now, leaseUntil time.Time, limit int) ([]OutboxMessage, error)
	// FinishOutbox settles a message owner holds (pending, LeaseOwner = owner) as OutboxSent or
	// OutboxFailed, with lastError, clearing its payload and lease. ErrConflict when owner does
	// not hold it (anymore); ErrNotFound when there is no such message.
	FinishOutbox(ctx context.Context, id, owner string, state OutboxState, lastError string, now time.Time) error
	// RetryOutbox gives a message owner holds back for another attempt at next (the lease is
	// released, the payload kept). ErrConflict / ErrNotFound as FinishOutbox.
	RetryOutbox(ctx context.Context, id, owner string, next time.Time, lastError string, now time.Time) error
	// GetOutbox returns the message.
	GetOutbox(ctx context.Context, id string) (OutboxMessage, error)
	// DeleteOutbox deletes the settled messages last updated before before, and the pending
	// ones that expired before it; it returns how many it deleted.
	DeleteOutbox(ctx context.Context, before time.Time) (int, error)
}
