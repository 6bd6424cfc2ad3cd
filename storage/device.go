package storage

import (
	"context"
	"strings"
	"time"
)

// DeviceAuthorization is a device authorization grant (RFC 8628) from the device's request until
// its tokens are issued. The device holds the device code and shows the user code; only their
// SHA-256 hashes are stored.
type DeviceAuthorization struct {
	ID             string
	DeviceCodeHash []byte
	UserCodeHash   []byte
	ClientID       string
	Scopes         []string
	LastPolledAt   time.Time // zero until the device first polls

	// Set when the user decides (DecideDeviceAuthorization).
	UserID     string
	AuthTime   time.Time
	AMR        []string
	ApprovedAt time.Time
	DeniedAt   time.Time

	UsedAt    time.Time // when the tokens were issued
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Decided reports whether the user has approved or denied the request.
func (d DeviceAuthorization) Decided() bool { return !d.ApprovedAt.IsZero() || !d.DeniedAt.IsZero() }

// DeviceStorage keeps device authorizations.
type DeviceStorage interface {
	// CreateDeviceAuthorization stores d. ErrAlreadyExists when its ID, device code hash or user
	// code hash is taken (the caller draws a new user code).
	CreateDeviceAuthorization(ctx context.Context, d DeviceAuthorization) error
	// GetDeviceAuthorizationByUserCode returns the undecided request whose user code hash is
	// userCodeHash and that has not expired at now; ErrNotFound otherwise.
	GetDeviceAuthorizationByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (DeviceAuthorization, error)
	// DecideDeviceAuthorization records the user's answer, once: approved sets UserID, AuthTime,
	// AMR and ApprovedAt = now; otherwise DeniedAt = now. ErrConflict when the request is
	// decided already or has expired; ErrNotFound when absent.
	DecideDeviceAuthorization(ctx context.Context, id string, approved bool, userID string, authTime time.Time, amr []string, now time.Time) error
	// PollDeviceAuthorization records a poll of the device code at now and returns the request.
	// early is true when the previous poll was after now - minGap (the device polls too fast).
	// ErrNotFound when no request has that device code.
	PollDeviceAuthorization(ctx context.Context, deviceCodeHash []byte, minGap time.Duration, now time.Time) (d DeviceAuthorization, early bool, err error)
	// ConsumeDeviceAuthorization marks an approved request used, exactly once, where it is
	// unused and ExpiresAt > now. ErrAlreadyUsed when it was used before; ErrConflict when it is
	// not approved or has expired.
	ConsumeDeviceAuthorization(ctx context.Context, id string, now time.Time) error
	// DeleteExpiredDeviceAuthorizations deletes the requests that expired at or before now.
	DeleteExpiredDeviceAuthorizations(ctx context.Context, now time.Time) error
}

// UserCodeAlphabet is the alphabet of user codes: consonants only, without ones easily
// mistaken for another (no vowels, so no words; 20 letters, 8 of them make 34.5 bits).
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is the number of letters of a user code.
const UserCodeLength = 8

// NormalizeUserCode returns the user code typed as s in its canonical form (upper case, no
// dashes or spaces), and whether it is a well-formed code at all.
func NormalizeUserCode(s string) (string, bool) {
	b := make([]byte, 0, UserCodeLength)
	for _, c := range []byte(strings.ToUpper(s)) {
		switch {
		case c == '-' || c == ' ':
			continue
		case strings.IndexByte(UserCodeAlphabet, c) < 0 || len(b) == UserCodeLength:
			return "", false
		}
		b = append(b, c)
	}
	return string(b), len(b) == UserCodeLength
}
