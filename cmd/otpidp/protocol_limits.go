package main

import (
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/oautherr"
)

// maxProtocolFormBytes bounds the body of a token, introspection or revocation request.
const maxProtocolFormBytes = 64 << 10

// maxLimitedClientID bounds the client_id a per-client counter is kept for.
const maxLimitedClientID = 128

// protocolLimits returns the middleware that rate-limits a protocol endpoint that takes client
// credentials (routes.go wraps token, introspection, revocation and device authorization in
// it, naming each): its POSTs count against the limits.ProtocolPerIP and
// limits.ProtocolPerClient limits, and over one the answer is a 429 with Retry-After and an
// OAuth error body, with a protocol.rate_limited audit event naming the endpoint.
func protocolLimits(d deps) func(endpoint string, next http.Handler) http.Handler {
	perIP, perClient := d.cfg.tokenLimits()
	lim := limits.New(d.store, map[limits.Name]limits.Rate{limits.ProtocolPerIP: perIP, limits.ProtocolPerClient: perClient})
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
			ctx := r.Context()
			hits := []limits.Hit{limits.PerIP(ctx, limits.ProtocolPerIP)}
			if clientID != "" && len(clientID) <= maxLimitedClientID {
				hits = append(hits, limits.Hit{Name: limits.ProtocolPerClient, Subject: clientID})
			}
			refusal, err := lim.Take(ctx, d.now().UTC(), hits...)
			if err != nil {
				d.logger.ErrorContext(ctx, "protocol rate limit", "error", err)
				oautherr.WriteRetry(w, http.StatusServiceUnavailable, 5*time.Second, &oidc.Error{ErrorType: "temporarily_unavailable"})
				return
			}
			if refusal != nil {
				d.logger.WarnContext(ctx, "protocol request refused by a rate limit", "endpoint", endpoint, "client_id", clientID, "limit_name", string(refusal.Name), "limit", refusal.Max)
				log.Record(ctx, audit.Entry{Event: audit.ProtocolRateLimited, ClientID: clientID, Detail: endpoint})
				oautherr.WriteRetry(w, http.StatusTooManyRequests, refusal.RetryAfter,
					oidc.ErrSlowDown().WithDescription("too many requests; retry after the time in Retry-After"))
				return
			}
			// Token events (issued, refreshed, revoked) are recorded by the provider, which
			// knows their user (provider/audit.go).
			next.ServeHTTP(w, r)
		})
	}
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
