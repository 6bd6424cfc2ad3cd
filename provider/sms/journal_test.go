package sms_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// openJournal is a fresh, migrated SQLite store.
func openJournal(t *testing.T) storage.Storage { return openJournalB(t) }

func openJournalB(t testing.TB) storage.Storage {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "otpidp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

var journalNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestTwilioJournal(t *testing.T) {
	tests := []struct {
		name       string
		next       []twiliotest.Failure
		timeout    time.Duration
		wantErr    error
		wantStatus string
		wantCode   int
		wantSID    bool
		requests   int
	}{
		{name: "sent", wantStatus: "queued", wantSID: true, requests: 1},
		{name: "invalid number", next: []twiliotest.Failure{twiliotest.InvalidNumber}, wantErr: sms.ErrUndeliverable, wantStatus: storage.SMSStatusNotSent, wantCode: 21211, requests: 1},
		{name: "throttled twice", next: []twiliotest.Failure{twiliotest.TooManyRequests, twiliotest.TooManyRequests}, wantErr: sms.ErrUnavailable, wantStatus: storage.SMSStatusNotSent, wantCode: 20429, requests: 2},
		{name: "throttled once", next: []twiliotest.Failure{twiliotest.TooManyRequests}, wantStatus: "queued", wantSID: true, requests: 2},
		{name: "server error", next: []twiliotest.Failure{twiliotest.ServerError}, wantErr: sms.ErrUnavailable, wantStatus: storage.SMSStatusUnknown, wantCode: 20500, requests: 1},
		{name: "timeout", next: []twiliotest.Failure{twiliotest.Hang}, timeout: 200 * time.Millisecond, wantErr: sms.ErrUnavailable, wantStatus: storage.SMSStatusUnknown, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			for _, f := range tt.next {
				fake.FailNext(f)
			}
			journal := openJournal(t)
			cfg := testConfig(fake)
			cfg.Journal, cfg.Now, cfg.Timeout = journal, func() time.Time { return journalNow }, tt.timeout
			s := newTwilio(t, cfg)
			m := sms.Message{To: testTo, Body: testBody, ValidFor: 5 * time.Minute, Key: "flow-1/1"}

			err := s.Send(t.Context(), m)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send: %v, want %v", err, tt.wantErr)
			}
			got, gerr := journal.GetSMSMessage(t.Context(), sms.JournalKey(m.Key))
			if gerr != nil {
				t.Fatalf("journal: %v", gerr)
			}
			if got.Status != tt.wantStatus || got.ErrorCode != tt.wantCode || got.Provider != "twilio" || got.Country != "US" || (got.SID != "") != tt.wantSID {
				t.Errorf("journal record = %+v, want status %q, code %d, SID %v, country US", got, tt.wantStatus, tt.wantCode, tt.wantSID)
			}
			if tt.wantSID && got.SID != fake.Messages()[0].SID {
				t.Errorf("journal SID %q, Twilio's %q", got.SID, fake.Messages()[0].SID)
			}
			// The record holds no body, code, number or flow ID.
			assertSafe(t, fmt.Sprintf("%+v", got))
			if strings.Contains(fmt.Sprintf("%+v", got), "flow-1") {
				t.Errorf("the journal holds the message key in clear: %+v", got)
			}

			// The same key is never sent again, whatever happened the first time.
			if err := s.Send(t.Context(), m); !errors.Is(err, sms.ErrAlreadySent) {
				t.Errorf("second Send of the same key: %v, want ErrAlreadySent", err)
			}
			if n := fake.Requests(); n != tt.requests {
				t.Errorf("the fake saw %d requests, want %d", n, tt.requests)
			}
			// Another key is sent.
			if tt.wantErr == nil {
				m.Key = "flow-1/2"
				if err := s.Send(t.Context(), m); err != nil {
					t.Errorf("Send of the next key: %v", err)
				}
				if n := len(fake.Messages()); n != 2 {
					t.Errorf("%d messages, want 2", n)
				}
			}
		})
	}
}

func TestTwilioJournalWithoutKey(t *testing.T) {
	fake := twiliotest.New(t)
	journal := openJournal(t)
	cfg := testConfig(fake)
	cfg.Journal = journal
	s := newTwilio(t, cfg)
	for range 2 {
		if err := s.Send(t.Context(), sms.Message{To: testTo, Body: testBody}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Messages()); n != 2 {
		t.Fatalf("messages without a key are not deduplicated: %d sent, want 2", n)
	}
	stats, err := journal.SMSStats(t.Context(), time.Time{})
	if err != nil || len(stats) != 0 {
		t.Fatalf("messages without a key are not journaled: %v %v", stats, err)
	}
}

// A process that dies after claiming a message and before Twilio answers leaves a claimed
// record: the key is never sent again (it may have gone out), and nothing else is blocked.
func TestTwilioJournalCrashAfterClaim(t *testing.T) {
	fake := twiliotest.New(t)
	journal := openJournal(t)
	cfg := testConfig(fake)
	cfg.Journal = journal
	cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		panic("process killed")
	})}
	dying := newTwilio(t, cfg)
	m := sms.Message{To: testTo, Body: testBody, Key: "flow-2/1"}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the transport did not panic")
			}
		}()
		_ = dying.Send(t.Context(), m)
	}()
	got, err := journal.GetSMSMessage(t.Context(), sms.JournalKey(m.Key))
	if err != nil || got.Status != storage.SMSStatusClaimed {
		t.Fatalf("after the crash the record is %+v, %v; want claimed", got, err)
	}

	cfg.HTTPClient = nil // the restarted process
	restarted := newTwilio(t, cfg)
	if err := restarted.Send(t.Context(), m); !errors.Is(err, sms.ErrAlreadySent) {
		t.Fatalf("resending the claimed key: %v, want ErrAlreadySent", err)
	}
	m.Key = "flow-2/2"
	if err := restarted.Send(t.Context(), m); err != nil {
		t.Fatalf("the next code: %v", err)
	}
	if n := fake.Requests(); n != 1 {
		t.Fatalf("the fake saw %d requests, want 1 (the next code only)", n)
	}
}

func TestTwilioStatusCallbackParameter(t *testing.T) {
	fake := twiliotest.New(t)
	cfg := testConfig(fake)
	cfg.StatusCallback = "https://idp.example.com/twilio/status"
	if err := newTwilio(t, cfg).Send(t.Context(), sms.Message{To: testTo, Body: testBody}); err != nil {
		t.Fatal(err)
	}
	if got := fake.Messages()[0].StatusCallback; got != cfg.StatusCallback {
		t.Fatalf("StatusCallback = %q, want %q", got, cfg.StatusCallback)
	}
}
