package main

import (
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/oautherr"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

// maxProtocolFormBytes bounds the body of a token, introspection or revocation request.
const maxProtocolFormBytes = 64 << 10

// maxLimitedClientID bounds the client_id a per-client counter is kept for.
const maxLimitedClientID = 128

// protocolLimiter holds the protocol limits: token buckets in this instance's memory
// (limits.Buckets), so that no protocol request writes to the database to be counted.
type protocolLimiter struct {
	perIP, failedPerIP, perClient *limits.Buckets
}

func newProtocolLimiter(c Config) *protocolLimiter {
	perIP, failed, perClient := c.tokenLimits()
	return &protocolLimiter{
		perIP:       limits.NewBuckets(perIP, 0),
		failedPerIP: limits.NewBuckets(failed, 0),
		perClient:   limits.NewBuckets(perClient, 0),
	}
}

// protocolLimits returns the middleware that rate-limits a protocol endpoint that takes client
// credentials (routes.go wraps token, introspection, revocation and device authorization in
// it, naming each). A POST is counted against the limits of who it proves to be:
//
//   - a client that authenticates (the provider marks it: limits.ClientAuthenticated) counts
//     against its own limits.ProtocolPerClient bucket, after the fact, so that requests merely
//     naming a client never spend its budget; a request naming a client whose bucket is empty
//     is refused before anything is checked;
//   - a failed client authentication (401) counts against limits.ProtocolFailedPerIP, and an
//     address whose failure bucket is empty is refused whatever it sends (credential guessing);
//   - a request without credentials (a public client) takes one of limits.ProtocolPerIP
//     before it is served, and one with credentials that authenticated none (a malformed
//     request) spends one after.
//
// (SECURITY.md RL-13.) A refusal is a 429 with Retry-After and an OAuth slow_down body; the first refusal of a
// subject in a minute is logged and recorded as a protocol.rate_limited audit event naming the
// endpoint. The buckets are per instance and in memory: nothing here touches the database on
// the success path.
func protocolLimits(d deps) func(endpoint string, next http.Handler) http.Handler {
	pl := newProtocolLimiter(d.cfg)
	log := audit.New(d.store, d.now, d.logger)
	return func(endpoint string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxProtocolFormBytes)
			_ = r.ParseForm() // the provider reports a bad body itself
			clientID := protocolClientID(r)
			if len(clientID) > maxLimitedClientID {
				clientID = ""
			}
			ctx := r.Context()
			ip, now := reqinfo.From(ctx).LimitKey(), d.now()
			refuse := func(name limits.Name, v limits.Verdict) {
				if v.Report {
					d.logger.WarnContext(ctx, "protocol request refused by a rate limit", "endpoint", endpoint, "client_id", clientID, "limit_name", string(name))
					log.Record(ctx, audit.Entry{Event: audit.ProtocolRateLimited, ClientID: clientID, Detail: endpoint})
				}
				oautherr.WriteRetry(w, http.StatusTooManyRequests, v.RetryAfter,
					oidc.ErrSlowDown().WithDescription("too many requests; retry after the time in Retry-After"))
			}
			if v := pl.failedPerIP.Allow(ip, now); !v.OK {
				refuse(limits.ProtocolFailedPerIP, v)
				return
			}
			if clientID != "" {
				if v := pl.perClient.Allow(clientID, now); !v.OK {
					refuse(limits.ProtocolPerClient, v)
					return
				}
			}
			credentials := hasClientCredentials(r)
			if !credentials {
				if v := pl.perIP.Take(ip, now); !v.OK {
					refuse(limits.ProtocolPerIP, v)
					return
				}
			}
			ctx, auth := limits.WithClientAuth(ctx)
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r.WithContext(ctx))
			now = d.now()
			switch id := auth.ClientID(); {
			case id != "":
				pl.perClient.Spend(id, now)
			case sw.status == http.StatusUnauthorized:
				pl.failedPerIP.Spend(ip, now)
			case credentials:
				pl.perIP.Spend(ip, now)
			}
		})
	}
}

// hasClientCredentials reports whether a protocol request carries client credentials: HTTP
// Basic, a client_secret or a client assertion.
func hasClientCredentials(r *http.Request) bool {
	if _, _, ok := r.BasicAuth(); ok {
		return true
	}
	return r.PostForm.Get("client_secret") != "" || r.PostForm.Get("client_assertion") != ""
}

// protocolClientID is the client_id a protocol request claims: from HTTP Basic
// authentication (form-encoded, RFC 6749 §2.3.1), else from the form. It is not authenticated
// yet.
func protocolClientID(r *http.Request) string {
	clientID, _, _ := r.BasicAuth()
	if id, err := url.QueryUnescape(clientID); err == nil {
		clientID = id
	}
	if clientID == "" {
		clientID = r.PostForm.Get("client_id")
	}
	return clientID
}

// statusWriter remembers the status of the response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
