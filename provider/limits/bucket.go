package limits

import (
	"container/list"
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Buckets are per-instance token buckets in memory, one per subject (a client IP's limit key,
// a client_id), for the protocol limits: they cost no database round trip, so an API can
// introspect thousands of tokens a second, and each instance of otpidp counts on its own (a
// rate of N/Per allows up to N/Per on each instance). The limits that protect accounts
// (passwords, codes, SMS) stay in the shared store (Limiter).
//
// A bucket holds at most Rate.Max tokens and gains Rate.Max every Rate.Per, continuously; an
// event takes one. Memory is bounded: at most maxKeys subjects are kept, in shards, the least
// recently used subject of a full shard making way for a new one (a bucket forgotten is as if
// full again). Safe for concurrent use.
type Buckets struct {
	rate   Rate
	perSec float64 // tokens gained per second
	seed   maphash.Seed
	shards [bucketShards]bucketShard
}

const bucketShards = 32

type bucketShard struct {
	mu    sync.Mutex
	max   int
	items map[string]*list.Element
	lru   list.List // front: most recently used; values are *bucket
}

type bucket struct {
	key        string
	tokens     float64
	at         time.Time // when tokens was computed
	reportedAt time.Time // the last refusal reported (Verdict.Report)
}

// Verdict is a bucket's answer.
type Verdict struct {
	OK bool
	// RetryAfter is, when refused, the whole seconds until a token is back (at least one).
	RetryAfter time.Duration
	// Report is true for the first refusal of the subject in a minute: log and audit it, so
	// that a flood of refused requests does not become a flood of audit rows.
	Report bool
}

// DefaultBucketKeys is how many subjects a Buckets keeps when NewBuckets is given no bound:
// about 150 bytes each, a few MB at most.
const DefaultBucketKeys = 50_000

// NewBuckets returns token buckets of rate r (an Off rate allows everything) keeping at most
// maxKeys subjects (DefaultBucketKeys when maxKeys < 1).
func NewBuckets(r Rate, maxKeys int) *Buckets {
	if maxKeys < 1 {
		maxKeys = DefaultBucketKeys
	}
	b := &Buckets{rate: r, seed: maphash.MakeSeed()}
	if r.Max > 0 && r.Per > 0 {
		b.perSec = float64(r.Max) / r.Per.Seconds()
	}
	per := max(maxKeys/bucketShards, 1)
	for i := range b.shards {
		b.shards[i].max = per
		b.shards[i].items = map[string]*list.Element{}
	}
	return b
}

// Rate is the buckets' rate.
func (b *Buckets) Rate() Rate { return b.rate }

// Len is the number of subjects kept.
func (b *Buckets) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}

// Take takes one token of subject's bucket if there is one.
func (b *Buckets) Take(subject string, now time.Time) Verdict { return b.do(subject, now, 1, true) }

// Allow reports whether subject's bucket has a token, taking none: for a limit counted after
// the request (Spend), such as a client's, counted only once it has authenticated.
func (b *Buckets) Allow(subject string, now time.Time) Verdict { return b.do(subject, now, 0, true) }

// Spend counts one event after the fact: it takes a token if there is one, and otherwise
// leaves the bucket empty. It never refuses (the request was already served).
func (b *Buckets) Spend(subject string, now time.Time) { b.do(subject, now, 1, false) }

func (b *Buckets) do(subject string, now time.Time, n float64, refuse bool) Verdict {
	if b.rate.Off() || b.perSec == 0 {
		return Verdict{OK: true}
	}
	s := &b.shards[maphash.String(b.seed, subject)%bucketShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	var k *bucket
	if e, ok := s.items[subject]; ok {
		s.lru.MoveToFront(e)
		k = e.Value.(*bucket)
		if el := now.Sub(k.at).Seconds(); el > 0 {
			k.tokens = math.Min(float64(b.rate.Max), k.tokens+el*b.perSec)
			k.at = now
		}
	} else {
		if n == 0 {
			return Verdict{OK: true} // a full bucket: no need to keep it
		}
		if len(s.items) >= s.max {
			old := s.lru.Back()
			delete(s.items, old.Value.(*bucket).key)
			s.lru.Remove(old)
		}
		k = &bucket{key: subject, tokens: float64(b.rate.Max), at: now}
		s.items[subject] = s.lru.PushFront(k)
	}
	if k.tokens >= math.Max(n, 1) {
		k.tokens -= n
		return Verdict{OK: true}
	}
	if !refuse {
		k.tokens = 0
		return Verdict{OK: true}
	}
	wait := time.Duration((math.Max(n, 1) - k.tokens) / b.perSec * float64(time.Second))
	v := Verdict{RetryAfter: RetryAfter(now.Add(wait), now)}
	if k.reportedAt.IsZero() || now.Sub(k.reportedAt) >= time.Minute {
		k.reportedAt, v.Report = now, true
	}
	return v
}

// ---- which client authenticated ----

// ClientAuth records the client a protocol request authenticated, for the protocol limits
// that count a client only once it has proven who it is. The protocol-limits middleware puts
// one in the request's context (WithClientAuth); the provider's client authentication calls
// ClientAuthenticated on success.
type ClientAuth struct {
	mu       sync.Mutex
	clientID string
}

type clientAuthKey struct{}

// WithClientAuth returns ctx carrying a new ClientAuth, and the ClientAuth.
func WithClientAuth(ctx context.Context) (context.Context, *ClientAuth) {
	a := &ClientAuth{}
	return context.WithValue(ctx, clientAuthKey{}, a), a
}

// ClientAuthenticated records that the request of ctx authenticated clientID (nothing when
// ctx carries no ClientAuth).
func ClientAuthenticated(ctx context.Context, clientID string) {
	if a, ok := ctx.Value(clientAuthKey{}).(*ClientAuth); ok {
		a.mu.Lock()
		a.clientID = clientID
		a.mu.Unlock()
	}
}

// ClientID is the client the request authenticated, "" when none did.
func (a *ClientAuth) ClientID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clientID
}
