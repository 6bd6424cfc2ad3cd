// Package storage defines otpidp's domain records and the Storage interface that every backend
// (storage/sqlite, storage/postgres) implements. It imports nothing of otpidp's own and knows
// nothing of OpenID Connect libraries.
//
// Conventions every backend follows:
//   - Every method takes ctx first. Times are passed in by the caller (an injected clock) and are
//     stored and returned in UTC; backends never read the clock themselves.
//   - A missing record is ErrNotFound; a duplicate key (ID, phone number, …) is ErrAlreadyExists.
//   - Single-use and limited things (codes, refresh tokens, attempt counters) are changed by
//     conditional updates, so that a replay or a race fails in the database, on any number of
//     instances sharing it. A conditional update that matches nothing is ErrConflict.
//   - A database that cannot be reached, or does not answer in time, is ErrUnavailable
//     (wrapping the driver's error for the logs).
//   - Slices are returned non-nil-agnostic: callers treat nil and empty alike.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them (errors.Is works) and never return driver errors for
// these cases.
var (
	// ErrNotFound: no record with that key (or it has expired where the method says so).
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists: a record with that key (or unique value) exists already.
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrConflict: a conditional update matched no row (already used, revoked, expired, out of
	// attempts, or changed by someone else meanwhile).
	ErrConflict = errors.New("storage: conflict")
	// ErrAlreadyUsed: a single-use value (authorization code, refresh token) was presented again.
	// Methods that return it also return the record, so the caller can revoke what it issued.
	ErrAlreadyUsed = errors.New("storage: already used")
	// ErrUnavailable: the database could not be reached or did not answer in time (a refused
	// or broken connection, a call past its deadline, a lock wait that ran out). The call may
	// be retried later; nothing about the database should reach a client.
	ErrUnavailable = errors.New("storage: unavailable")
)

// User is an account. ID is the OpenID subject: random, opaque, never the phone number and never
// reused.
type User struct {
	ID            string
	Phone         string // E.164, unique
	PhoneVerified bool
	Name          string
	PasswordHash  string // PHC string ($argon2id$…) or a bcrypt hash for imported users
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DisabledAt    time.Time // set by an operator: the user cannot sign in; zero when enabled
}

// Disabled reports whether an operator disabled the user.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Client is a registered relying party.
type Client struct {
	ID                     string
	SecretHash             []byte // keyed hash of the secret; nil for public clients
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Public                 bool     // token endpoint auth method "none"; PKCE required
	GrantTypes             []string // "authorization_code", "refresh_token", …
	AccessTokenFormat      string   // "opaque" or "jwt"
	FirstParty             bool     // consent is not asked
	CreatedAt              time.Time
}

// AuthRequest is an OpenID authorization request, from /authorize until its code is redeemed.
type AuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              int64 // seconds; -1 when the request had no max_age
	LoginHint           string
	UILocales           []string
	HintSubject         string // sub of a verified id_token_hint; empty without one
	// IDTokenClaims are the claims the request's claims parameter asked for in the ID token
	// (OpenID Connect Core §5.5), among those the provider knows; nil when none.
	IDTokenClaims []string
	BrowserHash   []byte // SHA-256 of the browser-binding cookie that started it
	// ClientIP is the rate-limit key of the address that created it (IPv4 as is, IPv6 its
	// /64): pending requests are capped per address (CountPendingAuthRequests).
	ClientIP string

	// Set when the user has authenticated (CompleteAuthRequest).
	UserID      string
	AuthTime    time.Time
	AMR         []string
	CompletedAt time.Time // zero until completed

	// Set when the authorization code is issued (SetAuthCode) and redeemed (ConsumeAuthCode).
	CodeHash      []byte
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time

	CreatedAt time.Time
	ExpiresAt time.Time
}

// Done reports whether the user has authenticated for this request.
func (a AuthRequest) Done() bool { return !a.CompletedAt.IsZero() }

// FlowKind says what a Flow is for. A one-time code is bound to one flow and so to one purpose.
type FlowKind string

const (
	FlowLogin    FlowKind = "login"
	FlowRegister FlowKind = "register"
)

// Flow is a sign-in or registration in progress: the step between the first form and the SMS
// code. The one-time code lives here, only as a keyed hash.
type Flow struct {
	ID            string
	Kind          FlowKind
	AuthRequestID string // the authorization request it serves; may be empty
	UserID        string // login: the user who passed the password step
	Phone         string // E.164: where the code went
	Name          string // register: the name typed
	PasswordHash  string // register: the password typed, hashed
	BrowserHash   []byte // SHA-256 of the browser-binding cookie that started it

	CodeHash      []byte
	CodeExpiresAt time.Time
	CodeSentAt    time.Time
	CodeAttempts  int // wrong tries against the current code
	SendCount     int // codes sent in this flow
	CodeUsedAt    time.Time

	CreatedAt time.Time
	ExpiresAt time.Time
}

// Session is a signed-in browser. The cookie holds a random value; only its SHA-256 is stored.
type Session struct {
	ID            string
	TokenHash     []byte
	UserID        string
	AuthTime      time.Time
	AMR           []string
	UserAgent     string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time // absolute
	IdleExpiresAt time.Time // moves with activity, never past ExpiresAt
}

// AccessToken is an issued access token. Opaque tokens carry its ID encrypted; JWT access tokens
// carry it as jti. Either way the record decides whether the token is active.
type AccessToken struct {
	ID        string
	FamilyID  string // the grant it belongs to: revoking the family revokes it
	ClientID  string
	UserID    string // empty for client_credentials
	Scopes    []string
	Audience  []string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// RefreshToken is an issued refresh token; the client holds a random value, only its hash is
// stored. Each use rotates it: the old one is marked used and a new one joins the same family.
type RefreshToken struct {
	ID            string
	TokenHash     []byte
	FamilyID      string
	ClientID      string
	UserID        string
	Scopes        []string
	Audience      []string
	AMR           []string
	AuthTime      time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time // absolute, inherited through rotation
	IdleExpiresAt time.Time
	UsedAt        time.Time
	RevokedAt     time.Time
}

// SigningKey is a token-signing key. Keys are published in JWKS from CreatedAt until ExpiresAt
// and sign from ActiveAt (after they have been published for a while) until superseded.
type SigningKey struct {
	ID         string // kid
	Algorithm  string // RS256, ES256, EdDSA
	Generation int    // per algorithm; unique, so that two instances cannot both create one
	PrivateKey []byte // PKCS #8, DER
	CreatedAt  time.Time
	ActiveAt   time.Time
	ExpiresAt  time.Time // zero: no expiry set yet
}

// Storage is everything otpidp keeps. Implementations are safe for concurrent use.
type Storage interface {
	LimitStore     // rate limits, failure runs, operator switches (limits.go)
	AuditStore     // the audit log (audit.go)
	AccountStorage // account.go: recovery codes, apps with access

	SMSMessages      // smsmessage.go
	BrowserStorage   // browser.go: re-binding a browser's flows to a new cookie value
	ProfileStorage   // userprofile.go: the user's name
	UserAdminStorage // useradmin.go: disabling, listing and deleting users; every session; client updates
	OutboxStorage    // outbox.go: durable deliveries drained in the background
	// Migrate applies the embedded migrations that are not applied yet. Two processes calling
	// it at once against one database do not race.
	Migrate(ctx context.Context) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error

	// Secret returns the named server secret, creating it with value if it does not exist yet.
	// Whoever creates it first wins; everyone gets the same bytes.
	Secret(ctx context.Context, name string, value []byte) ([]byte, error)

	CreateUser(ctx context.Context, u User) error // ErrAlreadyExists for a taken ID or phone
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByPhone(ctx context.Context, phone string) (User, error)
	UpdateUserPassword(ctx context.Context, id, passwordHash string, now time.Time) error

	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error) // ordered by CreatedAt, then ID
	DeleteClient(ctx context.Context, id string) error // ErrNotFound when absent

	CreateAuthRequest(ctx context.Context, a AuthRequest) error
	// GetAuthRequest returns the request whatever its state; callers check ExpiresAt.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// CountPendingAuthRequests counts the requests created from clientIP that are neither
	// completed nor expired (ExpiresAt > now), counting no further than max.
	CountPendingAuthRequests(ctx context.Context, clientIP string, now time.Time, max int) (int, error)
	// CompleteAuthRequest records who authenticated, once: ErrConflict if it is already
	// completed or has expired (ExpiresAt <= now); ErrNotFound if absent.
	CompleteAuthRequest(ctx context.Context, id, userID string, authTime time.Time, amr []string, now time.Time) error
	// SetAuthCode stores the hash of the code issued for a completed request. ErrConflict if the
	// request is not completed or already has a code.
	SetAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt time.Time) error
	// ConsumeAuthCode redeems a code exactly once: it marks it used where it is unused and
	// CodeExpiresAt > now, and returns the request. A code already used returns the request with
	// ErrAlreadyUsed; an unknown or expired one, ErrNotFound.
	ConsumeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (AuthRequest, error)
	// GetAuthRequestByCode returns the request a code was issued for, whatever the code's state,
	// without changing anything (the token endpoint checks the client and PKCE before it
	// consumes); ErrNotFound when no request has that code hash.
	GetAuthRequestByCode(ctx context.Context, codeHash []byte) (AuthRequest, error)

	CreateFlow(ctx context.Context, f Flow) error
	GetFlow(ctx context.Context, id string) (Flow, error)
	// ReplaceCode puts a new code in the flow (a resend): only if the flow's CodeSentAt still
	// equals prevSentAt and its code is unused (ErrConflict otherwise). It resets CodeAttempts,
	// increments SendCount and sets CodeHash, CodeExpiresAt and CodeSentAt = sentAt.
	ReplaceCode(ctx context.Context, id string, prevSentAt time.Time, codeHash []byte, expiresAt, sentAt time.Time) error
	// RecordWrongCode counts a wrong try against the flow's current code, identified by
	// currentHash, only while CodeAttempts < maxAttempts and the code is unused; it returns the
	// new count. ErrConflict when nothing was counted.
	RecordWrongCode(ctx context.Context, id string, currentHash []byte, maxAttempts int) (int, error)
	// ConsumeCode marks the flow's code used, exactly once: where CodeHash equals codeHash,
	// CodeAttempts < maxAttempts, the code is unused and CodeExpiresAt > now. It returns the flow;
	// ErrConflict when nothing matched.
	ConsumeCode(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time) (Flow, error)
	// CompleteRegistration consumes the code as ConsumeCode does and creates u, in one
	// transaction: both happen or neither does. ErrAlreadyExists (and no code spent) when the
	// phone is taken.
	CompleteRegistration(ctx context.Context, id string, codeHash []byte, maxAttempts int, now time.Time, u User) error
	DeleteFlow(ctx context.Context, id string) error

	CreateSession(ctx context.Context, s Session) error
	// GetSessionByHash returns the session whose TokenHash is tokenHash if it is still valid at
	// now (ExpiresAt and IdleExpiresAt both after now); ErrNotFound otherwise.
	GetSessionByHash(ctx context.Context, tokenHash []byte, now time.Time) (Session, error)
	// TouchSession records activity: LastSeenAt = now and IdleExpiresAt = idleExpiresAt.
	TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID string) error
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	CreateAccessToken(ctx context.Context, t AccessToken) error
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	RevokeAccessToken(ctx context.Context, id string, now time.Time) error // ErrNotFound when absent

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshTokenByHash(ctx context.Context, tokenHash []byte) (RefreshToken, error)
	// RotateRefreshToken marks oldID used (where it is unused, unrevoked, ExpiresAt and
	// IdleExpiresAt after now) and stores next and access, in one transaction. When the old
	// token was already used it returns ErrAlreadyUsed and stores nothing; when it is revoked or
	// expired, ErrConflict.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken, access AccessToken, now time.Time) error
	// RotateRefreshTokenGrace is RotateRefreshToken with a grace period: a token already used
	// less than grace before now, and still unrevoked and unexpired, is rotated again (next and
	// access are stored; its used time stays that of its first use) instead of ErrAlreadyUsed.
	// grace <= 0 is RotateRefreshToken.
	RotateRefreshTokenGrace(ctx context.Context, oldID string, grace time.Duration, next RefreshToken, access AccessToken, now time.Time) error
	// RevokeFamily revokes every access and refresh token of the family.
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
	// RevokeUserTokens revokes every access and refresh token of the user; of one client only
	// when clientID is not empty.
	RevokeUserTokens(ctx context.Context, userID, clientID string, now time.Time) error

	// CreateSigningKey stores a key; ErrAlreadyExists when its ID or its (Algorithm,
	// Generation) is taken, which is how concurrent instances agree on one key.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns all keys, newest generation first within each algorithm.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteExpiredSigningKeys removes keys whose ExpiresAt is set and <= now.
	DeleteExpiredSigningKeys(ctx context.Context, now time.Time) error

	// GarbageCollect deletes what expired before now: flows, auth requests (and their codes),
	// sessions, access and refresh tokens. Live rows are untouched.
	GarbageCollect(ctx context.Context, now time.Time) error

	ConsentStorage
	KeyRotationStorage
	ClientProfileStorage // clientprofile.go
	DeviceStorage        // device.go
}
