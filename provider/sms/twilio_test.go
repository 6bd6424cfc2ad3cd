package sms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twilio/twilio-go/client"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "T0kenSecretValue0123456789abcdef"
	testKey     = "SK0123456789abcdef0123456789abcdef"
	testSecret  = "KeySecretValue0123456789abcdefAB"
	testService = "MG0123456789abcdef0123456789abcdef"
	testFrom    = "+14155550100"
	testTo      = "+14155552671"
	testCode    = "483920"
	testBody    = "Your otpidp code is " + testCode + ".\n\n@idp.example.com #" + testCode
)

func testConfig(fake *twiliotest.Server) sms.TwilioConfig {
	return sms.TwilioConfig{
		AccountSID: testAccount,
		AuthToken:  testToken,
		From:       testFrom,
		APIURL:     fake.URL(),
	}
}

func newTwilio(t *testing.T, cfg sms.TwilioConfig) *sms.Twilio {
	t.Helper()
	s, err := sms.NewTwilio(cfg)
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	return s
}

func TestTwilioSend(t *testing.T) {
	tests := []struct {
		name   string
		config func(*sms.TwilioConfig)
		setup  func(*twiliotest.Server)
		msg    sms.Message
		want   twiliotest.Message
	}{
		{
			name: "from number with auth token",
			msg:  sms.Message{To: testTo, Body: testBody, ValidFor: 5 * time.Minute},
			want: twiliotest.Message{To: testTo, From: testFrom, Body: testBody, ValidityPeriod: 300, User: testAccount},
		},
		{
			name:   "messaging service",
			config: func(c *sms.TwilioConfig) { c.From, c.MessagingServiceSID = "", testService },
			msg:    sms.Message{To: testTo, Body: testBody, ValidFor: 10 * time.Minute},
			want:   twiliotest.Message{To: testTo, MessagingServiceSid: testService, Body: testBody, ValidityPeriod: 600, User: testAccount},
		},
		{
			name:   "API key",
			config: func(c *sms.TwilioConfig) { c.AuthToken, c.APIKey, c.APISecret = "", testKey, testSecret },
			setup:  func(f *twiliotest.Server) { f.AddAPIKey(testKey, testAccount) },
			msg:    sms.Message{To: testTo, Body: testBody, ValidFor: 5 * time.Minute},
			want:   twiliotest.Message{To: testTo, From: testFrom, Body: testBody, ValidityPeriod: 300, User: testKey},
		},
		{
			name:   "alphanumeric sender",
			config: func(c *sms.TwilioConfig) { c.From = "OTPIDP" },
			msg:    sms.Message{To: "+447911123456", Body: "Code 000123"},
			want:   twiliotest.Message{To: "+447911123456", From: "OTPIDP", Body: "Code 000123", User: testAccount},
		},
		{
			name: "no validity period",
			msg:  sms.Message{To: testTo, Body: testBody},
			want: twiliotest.Message{To: testTo, From: testFrom, Body: testBody, User: testAccount},
		},
		{
			name: "validity rounded up to a second",
			msg:  sms.Message{To: testTo, Body: testBody, ValidFor: 1500 * time.Millisecond},
			want: twiliotest.Message{To: testTo, From: testFrom, Body: testBody, ValidityPeriod: 2, User: testAccount},
		},
		{
			name: "validity below a second",
			msg:  sms.Message{To: testTo, Body: testBody, ValidFor: time.Millisecond},
			want: twiliotest.Message{To: testTo, From: testFrom, Body: testBody, ValidityPeriod: 1, User: testAccount},
		},
		{
			name: "validity clamped to 10 hours",
			msg:  sms.Message{To: testTo, Body: testBody, ValidFor: 48 * time.Hour},
			want: twiliotest.Message{To: testTo, From: testFrom, Body: testBody, ValidityPeriod: 36000, User: testAccount},
		},
		{
			name: "unicode body",
			msg:  sms.Message{To: testTo, Body: "Код: 123456 ✓"},
			want: twiliotest.Message{To: testTo, From: testFrom, Body: "Код: 123456 ✓", User: testAccount},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			if tt.setup != nil {
				tt.setup(fake)
			}
			cfg := testConfig(fake)
			if tt.config != nil {
				tt.config(&cfg)
			}
			if err := newTwilio(t, cfg).Send(t.Context(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			ignoreSID := cmpopts.IgnoreFields(twiliotest.Message{}, "SID")
			if diff := cmp.Diff([]twiliotest.Message{tt.want}, fake.Messages(), ignoreSID); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if got := fake.Requests(); got != 1 {
				t.Errorf("fake saw %d requests, want 1", got)
			}
		})
	}
}

func TestTwilioFailures(t *testing.T) {
	tests := []struct {
		name         string
		next         []twiliotest.Failure
		always       twiliotest.Failure
		config       func(*sms.TwilioConfig)
		ctxTimeout   time.Duration
		wantIs       []error // the error wraps each of these
		wantNot      []error // and none of these
		wantCode     int     // Twilio error code found with errors.As; 0: none expected
		wantRequests int
		wantMessages int
		maxDuration  time.Duration
	}{
		{
			name:         "invalid number",
			next:         []twiliotest.Failure{twiliotest.InvalidNumber},
			wantIs:       []error{sms.ErrUndeliverable},
			wantNot:      []error{sms.ErrUnavailable},
			wantCode:     21211,
			wantRequests: 1,
		},
		{
			name:         "landline",
			next:         []twiliotest.Failure{twiliotest.Landline},
			wantIs:       []error{sms.ErrUndeliverable},
			wantNot:      []error{sms.ErrUnavailable},
			wantCode:     21614,
			wantRequests: 1,
		},
		{
			name:         "throttled once, then sent",
			next:         []twiliotest.Failure{twiliotest.TooManyRequests},
			wantRequests: 2,
			wantMessages: 1,
		},
		{
			name:         "throttled twice",
			always:       twiliotest.TooManyRequests,
			wantIs:       []error{sms.ErrUnavailable},
			wantNot:      []error{sms.ErrUndeliverable},
			wantCode:     20429,
			wantRequests: 2,
		},
		{
			name:         "throttled, then invalid number",
			next:         []twiliotest.Failure{twiliotest.TooManyRequests, twiliotest.InvalidNumber},
			wantIs:       []error{sms.ErrUndeliverable},
			wantCode:     21211,
			wantRequests: 2,
		},
		{
			name:         "throttled with no time left to retry",
			always:       twiliotest.TooManyRequests,
			ctxTimeout:   500 * time.Millisecond, // Retry-After is 1 s
			wantIs:       []error{sms.ErrUnavailable},
			wantCode:     20429,
			wantRequests: 1,
			maxDuration:  400 * time.Millisecond,
		},
		{
			name:         "server error is not retried",
			next:         []twiliotest.Failure{twiliotest.ServerError},
			wantIs:       []error{sms.ErrUnavailable},
			wantNot:      []error{sms.ErrUndeliverable},
			wantCode:     20500,
			wantRequests: 1,
		},
		{
			name:         "bad gateway without Twilio JSON is not retried",
			next:         []twiliotest.Failure{twiliotest.BadGateway},
			wantIs:       []error{sms.ErrUnavailable},
			wantRequests: 1,
		},
		{
			name:         "timeout is not retried",
			next:         []twiliotest.Failure{twiliotest.Hang},
			config:       func(c *sms.TwilioConfig) { c.Timeout = 200 * time.Millisecond },
			wantIs:       []error{sms.ErrUnavailable},
			wantNot:      []error{sms.ErrUndeliverable},
			wantRequests: 1,
			maxDuration:  2 * time.Second,
		},
		{
			name:         "caller deadline ends a hanging request",
			next:         []twiliotest.Failure{twiliotest.Hang},
			ctxTimeout:   200 * time.Millisecond,
			wantIs:       []error{sms.ErrUnavailable, context.DeadlineExceeded},
			wantRequests: 1,
			maxDuration:  2 * time.Second,
		},
		{
			name:         "unknown API key is a plain error",
			config:       func(c *sms.TwilioConfig) { c.AuthToken, c.APIKey, c.APISecret = "", testKey, testSecret },
			wantNot:      []error{sms.ErrUndeliverable, sms.ErrUnavailable},
			wantCode:     20003,
			wantRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			for _, f := range tt.next {
				fake.FailNext(f)
			}
			fake.FailAlways(tt.always)
			cfg := testConfig(fake)
			if tt.config != nil {
				tt.config(&cfg)
			}
			ctx := t.Context()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			err := newTwilio(t, cfg).Send(ctx, sms.Message{To: testTo, Body: testBody, ValidFor: 5 * time.Minute})
			elapsed := time.Since(start)

			if len(tt.wantIs) == 0 && tt.wantCode == 0 && len(tt.wantNot) == 0 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
			} else if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("error %q does not wrap %v", err, target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(err, target) {
					t.Errorf("error %q wraps %v", err, target)
				}
			}
			if tt.wantCode != 0 {
				var rest *client.TwilioRestError
				if !errors.As(err, &rest) {
					t.Errorf("error %q has no *client.TwilioRestError", err)
				} else if rest.Code != tt.wantCode || rest.Message != "" || rest.Details != nil {
					t.Errorf("TwilioRestError = %+v, want code %d without message or details", rest, tt.wantCode)
				}
			}
			if err != nil {
				assertSafe(t, err.Error())
			}
			if got := fake.Requests(); got != tt.wantRequests {
				t.Errorf("fake saw %d requests, want %d", got, tt.wantRequests)
			}
			if got := len(fake.Messages()); got != tt.wantMessages {
				t.Errorf("fake recorded %d messages, want %d", got, tt.wantMessages)
			}
			if tt.maxDuration > 0 && elapsed > tt.maxDuration {
				t.Errorf("Send took %v, want at most %v", elapsed, tt.maxDuration)
			}
		})
	}
}

// assertSafe fails if s holds a secret: the body, the code, a credential or the full number
// (SECURITY OTP-07, LOG-02, FRAUD-09).
func assertSafe(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testBody, testCode, testToken, testSecret, testTo, strings.TrimPrefix(testTo, "+"), "4155552671"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q contains the secret %q", s, secret)
		}
	}
}

// countingTransport counts round trips and passes them on.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestTwilioConnectionRefusedIsNotRetried(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()

	counter := &countingTransport{base: http.DefaultTransport}
	s := newTwilio(t, sms.TwilioConfig{
		AccountSID: testAccount, AuthToken: testToken, From: testFrom,
		APIURL: url, HTTPClient: &http.Client{Transport: counter},
	})
	err := s.Send(t.Context(), sms.Message{To: testTo, Body: testBody})
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Errorf("error %v does not wrap ErrUnavailable", err)
	}
	if got := counter.n.Load(); got != 1 {
		t.Errorf("%d attempts, want 1", got)
	}
	if err != nil {
		assertSafe(t, err.Error())
	}
}

// TestTwilioRealHost checks where requests go without APIURL: to Twilio itself, over HTTPS,
// with the account in the path.
func TestTwilioRealHost(t *testing.T) {
	var got *http.Request
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		body := `{"sid":"SM00000000000000000000000000000001","status":"queued"}`
		return &http.Response{
			StatusCode: http.StatusCreated,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    r,
		}, nil
	})
	s := newTwilio(t, sms.TwilioConfig{
		AccountSID: testAccount, AuthToken: testToken, From: testFrom,
		HTTPClient: &http.Client{Transport: rt},
	})
	if err := s.Send(t.Context(), sms.Message{To: testTo, Body: testBody}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got == nil {
		t.Fatal("no request")
	}
	want := "https://api.twilio.com/2010-04-01/Accounts/" + testAccount + "/Messages.json"
	if got.URL.String() != want || got.Method != http.MethodPost {
		t.Errorf("request %s %s, want POST %s", got.Method, got.URL, want)
	}
	if user, pass, ok := got.BasicAuth(); !ok || user != testAccount || pass != testToken {
		t.Errorf("basic auth = %q, %v; want the account and its token", user, ok)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTwilioRefusesBeforeSending(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		msg     sms.Message
		wantIs  error
		wantNot error
	}{
		{"national number", t.Context(), sms.Message{To: "4155552671", Body: testBody}, sms.ErrUndeliverable, nil},
		{"empty number", t.Context(), sms.Message{Body: testBody}, sms.ErrUndeliverable, nil},
		{"number with spaces", t.Context(), sms.Message{To: "+1 415 555 2671", Body: testBody}, sms.ErrUndeliverable, nil},
		{"empty body", t.Context(), sms.Message{To: testTo}, nil, sms.ErrUndeliverable},
		{"body too long", t.Context(), sms.Message{To: testTo, Body: strings.Repeat("x", 1601)}, nil, sms.ErrUndeliverable},
		{"canceled context", canceled, sms.Message{To: testTo, Body: testBody}, context.Canceled, sms.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			err := newTwilio(t, testConfig(fake)).Send(tt.ctx, tt.msg)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q does not wrap %v", err, tt.wantIs)
			}
			if tt.wantNot != nil && errors.Is(err, tt.wantNot) {
				t.Errorf("error %q wraps %v", err, tt.wantNot)
			}
			if got := fake.Requests(); got != 0 {
				t.Errorf("fake saw %d requests, want 0", got)
			}
			assertSafe(t, err.Error())
		})
	}
}

func TestTwilioConcurrentSends(t *testing.T) {
	fake := twiliotest.New(t)
	s := newTwilio(t, testConfig(fake))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.Send(t.Context(), sms.Message{To: testTo, Body: fmt.Sprintf("message %d", i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	seen := map[string]bool{}
	for _, m := range fake.Messages() {
		seen[m.Body] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages arrived, want %d", len(seen), n)
	}
}

func TestTwilioConfigValidate(t *testing.T) {
	valid := sms.TwilioConfig{AccountSID: testAccount, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name    string
		mutate  func(*sms.TwilioConfig)
		wantErr []string // substrings; nil: valid
	}{
		{"valid", func(*sms.TwilioConfig) {}, nil},
		{"valid API key", func(c *sms.TwilioConfig) { c.AuthToken, c.APIKey, c.APISecret = "", testKey, testSecret }, nil},
		{"valid messaging service", func(c *sms.TwilioConfig) { c.From, c.MessagingServiceSID = "", testService }, nil},
		{"valid short code", func(c *sms.TwilioConfig) { c.From = "12345" }, nil},
		{"valid https API URL", func(c *sms.TwilioConfig) { c.APIURL = "https://twilio-gw.internal:8443/" }, nil},
		{"missing account", func(c *sms.TwilioConfig) { c.AccountSID = "" }, []string{"AccountSID is required"}},
		{"malformed account", func(c *sms.TwilioConfig) { c.AccountSID = "XX123" }, []string{"AccountSID must be"}},
		{"missing credentials", func(c *sms.TwilioConfig) { c.AuthToken = "" }, []string{"AuthToken, or APIKey and APISecret, are required"}},
		{"token and key", func(c *sms.TwilioConfig) { c.APIKey, c.APISecret = testKey, testSecret }, []string{"not both"}},
		{"key without secret", func(c *sms.TwilioConfig) { c.AuthToken, c.APIKey = "", testKey }, []string{"APISecret is required"}},
		{"secret without key", func(c *sms.TwilioConfig) { c.AuthToken, c.APISecret = "", testSecret }, []string{"APIKey is required"}},
		{"token with symbols", func(c *sms.TwilioConfig) { c.AuthToken = "abc$def" }, []string{"AuthToken must contain only letters and digits"}},
		{"missing sender", func(c *sms.TwilioConfig) { c.From = "" }, []string{"From (TWILIO_PHONE_NUMBER) or MessagingServiceSID is required"}},
		{"two senders", func(c *sms.TwilioConfig) { c.MessagingServiceSID = testService }, []string{"either From or MessagingServiceSID"}},
		{"bad service", func(c *sms.TwilioConfig) { c.From, c.MessagingServiceSID = "", "PN123" }, []string{"MessagingServiceSID must be"}},
		{"bad from number", func(c *sms.TwilioConfig) { c.From = "+1 415 555 0100" }, []string{"From must be an E.164 number"}},
		{"API URL without scheme", func(c *sms.TwilioConfig) { c.APIURL = "localhost:8080" }, []string{"APIURL"}},
		{"API URL ftp", func(c *sms.TwilioConfig) { c.APIURL = "ftp://example.com" }, []string{"scheme must be http or https"}},
		{"API URL with path", func(c *sms.TwilioConfig) { c.APIURL = "http://127.0.0.1:1/twilio" }, []string{"without path"}},
		{"API URL with user", func(c *sms.TwilioConfig) { c.APIURL = "http://u:p@127.0.0.1:1" }, []string{"user info"}},
		{"negative timeout", func(c *sms.TwilioConfig) { c.Timeout = -time.Second }, []string{"Timeout must not be negative"}},
		{
			name: "every problem at once",
			mutate: func(c *sms.TwilioConfig) {
				*c = sms.TwilioConfig{APIURL: "::", Timeout: -1, AuthToken: testToken + "!"}
			},
			wantErr: []string{"AccountSID is required", "AuthToken must contain", "From (TWILIO_PHONE_NUMBER)", "APIURL", "Timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.mutate(&cfg)
			err := cfg.Validate()
			_, newErr := sms.NewTwilio(cfg)
			if (err == nil) != (newErr == nil) {
				t.Errorf("Validate: %v, but NewTwilio: %v", err, newErr)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			assertSafe(t, err.Error())
		})
	}
}
