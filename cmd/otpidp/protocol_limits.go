package main

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// maxProtocolFormBytes bounds the body of a token, introspection or revocation request.
const maxProtocolFormBytes = 64 << 10

// limitedProtocolPaths are the protocol endpoints that take credentials and so are rate
// limited per client IP and per client_id.
var limitedProtocolPaths = map[string]string{
	"/oauth/token":          "token",
	"/oauth/introspect":     "introspect",
	"/revoke":               "revoke",
	"/device_authorization": "device",
}

// protocolLimits rate-limits the token, introspection and revocation endpoints (a 429 with
// Retry-After and an OAuth error body) and writes token events to the audit log.
func protocolLimits(d deps) func(http.Handler) http.Handler {
	perIP, perClient := d.cfg.tokenLimits()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			endpoint, ok := limitedProtocolPaths[r.URL.Path]
			if !ok || r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxProtocolFormBytes)
			_ = r.ParseForm() // the provider reports a bad body itself
			clientID, _, _ := r.BasicAuth()
			if id, err := url.QueryUnescape(clientID); err == nil {
				clientID = id
			}
			if clientID == "" {
				clientID = r.PostForm.Get("client_id")
			}
			ctx := r.Context()
			info := reqinfo.From(ctx)
			now := d.now().UTC()
			limits := []storage.Limit{
				{Key: "proto:ip:" + info.LimitKey() + "/" + perIP.Per.String(), Window: perIP.Per, Max: perIP.Max},
			}
			if clientID != "" && len(clientID) <= 128 {
				limits = append(limits, storage.Limit{Key: "proto:client:" + clientID + "/" + perClient.Per.String(), Window: perClient.Per, Max: perClient.Max})
			}
			refusal, err := d.store.Take(ctx, now, limits...)
			if err != nil {
				d.logger.ErrorContext(ctx, "protocol rate limit", "error", err)
				w.Header().Set("Retry-After", "5")
				http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			if refusal != nil {
				secs := int((refusal.ResetAt.Sub(now) + time.Second - 1) / time.Second)
				d.logger.WarnContext(ctx, "protocol request refused by a rate limit", "endpoint", endpoint, "client_id", clientID, "limit", refusal.Limit.Max)
				appendAudit(d, r, storage.AuditEvent{Event: "protocol.rate_limited", ClientID: clientID, Detail: endpoint})
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error":"slow_down","error_description":"too many requests; retry after the time in Retry-After"}` + "\n"))
				return
			}
			// Token events (issued, refreshed, revoked) are recorded by the provider, which
			// knows their user (provider/audit.go).
			next.ServeHTTP(w, r)
		})
	}
}

// appendAudit writes e with the request's time, IP and request ID; a failure is logged.
func appendAudit(d deps, r *http.Request, e storage.AuditEvent) {
	info := reqinfo.From(r.Context())
	e.At, e.IP, e.RequestID = d.now().UTC(), info.IPString(), info.RequestID
	if len(e.Detail) > 64 {
		e.Detail = e.Detail[:64]
	}
	if err := d.store.AppendAudit(r.Context(), e); err != nil {
		d.logger.ErrorContext(r.Context(), "audit log", "event", e.Event, "error", err)
	}
}
