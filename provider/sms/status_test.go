package sms_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
	"github.com/otpidp/otpidp/storage"
)

// statusEnv is a Twilio sender whose messages carry the StatusCallback of a running
// StatusHandler, both on one journal.
type statusEnv struct {
	fake    *twiliotest.Server
	journal storage.Storage
	sender  *sms.Twilio
	url     string
	logs    *bytes.Buffer
}

func newStatusEnv(t *testing.T) *statusEnv {
	t.Helper()
	e := &statusEnv{fake: twiliotest.New(t), journal: openJournal(t), logs: &bytes.Buffer{}}
	h := &sms.StatusHandler{
		Journal: e.journal, AuthToken: testToken, Account: testAccount,
		Now:    func() time.Time { return journalNow.Add(time.Minute) },
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	mux := http.NewServeMux()
	mux.Handle(sms.StatusCallbackPath, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL + sms.StatusCallbackPath
	h.URL = e.url

	cfg := testConfig(e.fake)
	cfg.Journal, cfg.StatusCallback, cfg.Now = e.journal, e.url, func() time.Time { return journalNow }
	e.sender = newTwilio(t, cfg)
	return e
}

// send sends one keyed message and returns its Twilio SID.
func (e *statusEnv) send(t *testing.T, key string) string {
	t.Helper()
	if err := e.sender.Send(t.Context(), sms.Message{To: testTo, Body: testBody, Key: key}); err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages()
	return msgs[len(msgs)-1].SID
}

func (e *statusEnv) record(t *testing.T, key string) storage.SMSMessage {
	t.Helper()
	m, err := e.journal.GetSMSMessage(t.Context(), sms.JournalKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// post sends a callback form with the given signature ("" for none).
func (e *statusEnv) post(t *testing.T, form url.Values, signature string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStatusCallbackRecordsDelivery(t *testing.T) {
	e := newStatusEnv(t)
	sid := e.send(t, "k/1")
	for _, step := range []struct {
		status string
		code   int
		want   string
	}{
		{"sent", 0, "sent"},
		{"undelivered", 30003, "undelivered"},
		{"sent", 0, "undelivered"}, // late: does not move the message back
	} {
		code, err := e.fake.ReportStatus(t.Context(), sid, step.status, step.code, testToken)
		if err != nil || code != http.StatusNoContent {
			t.Fatalf("report %s: %d %v", step.status, code, err)
		}
		if got := e.record(t, "k/1"); got.Status != step.want || got.SID != sid {
			t.Fatalf("after %s: %+v, want status %s", step.status, got, step.want)
		}
	}
	if got := e.record(t, "k/1"); got.ErrorCode != 30003 || !got.UpdatedAt.Equal(journalNow.Add(time.Minute)) {
		t.Fatalf("record = %+v", got)
	}
	stats, err := e.journal.SMSStats(t.Context(), journalNow.Add(-time.Hour))
	if err != nil || len(stats) != 1 || stats[0] != (storage.SMSStat{Country: "US", Status: "undelivered", Count: 1}) {
		t.Fatalf("stats = %v, %v", stats, err)
	}
	assertSafe(t, e.logs.String())
}

func TestStatusCallbackRefusals(t *testing.T) {
	e := newStatusEnv(t)
	sid := e.send(t, "k/1")
	signedForm := func(status string) url.Values {
		return url.Values{"AccountSid": {testAccount}, "MessageSid": {sid}, "MessageStatus": {status}, "To": {testTo}}
	}
	delivered := signedForm("delivered")

	tests := []struct {
		name string
		form url.Values
		sig  string
		want int
	}{
		{"unsigned", delivered, "", http.StatusForbidden},
		{"signed with another token", delivered, twiliotest.Sign("AnotherToken0123456789abcdef0123", e.url, delivered), http.StatusForbidden},
		{"signature of another URL", delivered, twiliotest.Sign(testToken, "https://evil.example/twilio/status", delivered), http.StatusForbidden},
		{"tampered after signing", delivered, twiliotest.Sign(testToken, e.url, signedForm("failed")), http.StatusForbidden},
		{"garbage signature", delivered, "bm90IGEgc2lnbmF0dXJl", http.StatusForbidden},
		{"another account", func() url.Values {
			f := signedForm("delivered")
			f.Set("AccountSid", "AC99999999999999999999999999999999")
			return f
		}(), "", http.StatusForbidden},
		{"unknown status", signedForm("exploded"), "", http.StatusBadRequest},
		{"no SID", url.Values{"AccountSid": {testAccount}, "MessageStatus": {"delivered"}}, "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			if sig == "" && tt.name != "unsigned" {
				sig = twiliotest.Sign(testToken, e.url, tt.form)
			}
			if got := e.post(t, tt.form, sig); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
			if got := e.record(t, "k/1"); got.Status != "queued" {
				t.Fatalf("a refused callback changed the record: %+v", got)
			}
		})
	}
	// GET is not a callback.
	resp, err := http.Get(e.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	// A genuine report about a message otpidp did not send is accepted and recorded nowhere.
	other := url.Values{"AccountSid": {testAccount}, "MessageSid": {"SM00000000000000000000000000000999"}, "MessageStatus": {"delivered"}}
	if got := e.post(t, other, twiliotest.Sign(testToken, e.url, other)); got != http.StatusNoContent {
		t.Fatalf("unknown SID: %d", got)
	}
	stats, _ := e.journal.SMSStats(t.Context(), time.Time{})
	if len(stats) != 1 || stats[0].Status != "queued" {
		t.Fatalf("stats after refusals = %v", stats)
	}
	assertSafe(t, e.logs.String())
}
