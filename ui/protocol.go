package ui

import (
	"bytes"
	"fmt"
	"net/http"
)

// BoundCallback guards the provider's authorization callback: the request must have been
// completed by the browser that started it (zitadel/oidc only checks that it is done).
func (u *UI) BoundCallback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.requestError(w, r, u.core.CheckCallback(r.Context(), r.URL.Query().Get("id"))) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// FriendlyErrors turns the plain-text error answers of a browser-facing protocol endpoint
// (authorize, its callback, end_session: errors that cannot be redirected to the client) into
// the error page, with a reference to the logged detail. Redirects and successes pass through.
func (u *UI) FriendlyErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &captureWriter{w: w}
		next.ServeHTTP(cw, r)
		if !cw.captured {
			return
		}
		detail := bytes.TrimSpace(cw.buf.Bytes())
		u.renderError(w, r, cw.status, "err.request",
			fmt.Errorf("protocol error page (status %d): %.300s", cw.status, detail))
	})
}

// captureWriter passes everything through except a 4xx/5xx answer without a redirect, whose
// body it keeps.
type captureWriter struct {
	w        http.ResponseWriter
	status   int
	captured bool
	wrote    bool
	buf      bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.w.Header() }

func (c *captureWriter) WriteHeader(status int) {
	if c.wrote {
		return
	}
	c.wrote = true
	c.status = status
	if status >= 400 && c.w.Header().Get("Location") == "" {
		c.captured = true
		c.w.Header().Del("Content-Type")
		c.w.Header().Del("Content-Length")
		return
	}
	c.w.WriteHeader(status)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	if c.captured {
		return c.buf.Write(b)
	}
	return c.w.Write(b)
}
