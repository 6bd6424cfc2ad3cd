package audit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

type recorder struct {
	got []storage.AuditEvent
	err error
}

func (r *recorder) AppendAudit(_ context.Context, e storage.AuditEvent) error {
	r.got = append(r.got, e)
	return r.err
}

func TestRecord(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.FixedZone("x", 3600))
	rec := &recorder{}
	l := New(rec, func() time.Time { return now }, nil)
	var ctx context.Context
	reqinfo.Middleware(nil)(httpHandler(func(c context.Context) { ctx = c })).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	l.Record(ctx, Entry{Event: PasswordFailed, UserID: "u1", ClientID: "c1", Phone: "+14155550123", Detail: strings.Repeat("x", 100)})
	if len(rec.got) != 1 {
		t.Fatalf("got %d events", len(rec.got))
	}
	e := rec.got[0]
	if e.Event != "password.failed" || e.UserID != "u1" || e.ClientID != "c1" || !e.At.Equal(now) || e.At.Location() != time.UTC {
		t.Errorf("event %+v", e)
	}
	if e.PhoneMasked == "" || strings.Contains(e.PhoneMasked, "5550123") {
		t.Errorf("phone not masked: %q", e.PhoneMasked)
	}
	if len(e.Detail) != maxDetail {
		t.Errorf("detail length %d", len(e.Detail))
	}
	if e.RequestID == "" || e.IP == "" {
		t.Errorf("request ID %q and IP %q should come from reqinfo", e.RequestID, e.IP)
	}
	rec.err = errors.New("down")
	l.Record(t.Context(), Entry{Event: TokenIssued}) // logged, not returned, no panic without reqinfo
}

type httpHandler func(context.Context)

func (h httpHandler) ServeHTTP(_ http.ResponseWriter, r *http.Request) { h(r.Context()) }
