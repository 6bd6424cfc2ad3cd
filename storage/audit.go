package storage

import (
	"context"
	"time"
)

// AuditEvent is one authentication event. It never holds a secret: no password, code, token
// or full phone number (PhoneMasked is phone.MaskForLog's form).
type AuditEvent struct {
	ID          int64 // assigned by the store, increasing
	At          time.Time
	Event       string // "password.ok", "password.failed", "code.sent", …
	UserID      string
	ClientID    string
	IP          string
	RequestID   string
	PhoneMasked string
	Detail      string // a short reason, such as "wrong_password" or "per_phone_hour"
}

// AuditQuery selects audit events: all when its fields are zero.
type AuditQuery struct {
	UserID string
	Since  time.Time // events at or after it
	Limit  int       // 0: no limit (the newest Limit events when set)
}

// AuditStore keeps the audit log, append-only: no event is changed, and events leave only by
// age (the retention period).
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns matching events, oldest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// DeleteAuditBefore deletes the events that happened before before and returns how many.
	DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error)
}
