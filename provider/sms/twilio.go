package sms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/storage"
)

// DefaultTwilioTimeout is the per-request timeout when TwilioConfig.Timeout is 0 (SECURITY
// REL-05: a few seconds).
const DefaultTwilioTimeout = 3 * time.Second

const (
	// maxValidity is the longest ValidityPeriod Twilio accepts (10 hours).
	maxValidity = 36000 * time.Second
	// maxRetryAfter bounds how long Send waits before its single retry of a throttled
	// request. When Twilio asks for longer, Send gives up at once with ErrUnavailable.
	maxRetryAfter = 5 * time.Second
	// defaultRetryAfter is the wait when a 429 has no usable Retry-After header.
	defaultRetryAfter = time.Second
	// maxBodyLen is Twilio's limit on a message body, in characters.
	maxBodyLen = 1600
	// maxResponseBytes bounds how much of a Twilio response is read.
	maxResponseBytes = 1 << 20
)

// TwilioConfig configures a Twilio sender. Authenticate with AccountSID and either AuthToken or,
// preferably (SECURITY FRAUD-09), a restricted API key (APIKey and APISecret). Send from From or
// through MessagingServiceSID, not both.
type TwilioConfig struct {
	AccountSID string // "AC…" (TWILIO_ACCOUNT_SID)
	AuthToken  string // the account's auth token (TWILIO_AUTH_TOKEN); or APIKey+APISecret
	APIKey     string // "SK…" (TWILIO_API_KEY)
	APISecret  string // the API key's secret (TWILIO_API_SECRET)

	From                string // the sender: an E.164 number, short code or alphanumeric ID (TWILIO_PHONE_NUMBER)
	MessagingServiceSID string // "MG…", instead of From (TWILIO_MESSAGING_SERVICE_SID)
	// VerifyServiceSID is the Verify service ("VA…") of NewTwilioVerify, which needs no From
	// nor MessagingServiceSID (TWILIO_VERIFY_SERVICE_SID).
	VerifyServiceSID string

	// StatusCallback, when set, is the absolute URL Twilio reports each message's delivery
	// status to (otpidp's $ISSUER/twilio/status; see StatusHandler). Messages API only.
	StatusCallback string
	// Journal, when set, records every message (never its body or number: see
	// storage.SMSMessage) and makes sending idempotent per Message.Key.
	Journal storage.SMSMessages
	// Now is the journal's clock; nil means time.Now.
	Now func() time.Time
	// Logger reports journal failures that do not stop a send; nil discards them.
	Logger *slog.Logger

	// APIURL, when set, receives every request meant for *.twilio.com instead (its scheme and
	// host replace the request's; path and query are kept): a fake Twilio in tests, or a
	// gateway. "" sends to the real Twilio. (TWILIO_API_URL)
	APIURL string
	// Timeout bounds each HTTP request to Twilio; 0 means DefaultTwilioTimeout.
	Timeout time.Duration
	// HTTPClient, when set, provides the base RoundTripper (its Transport); its other fields are
	// not used. nil uses http.DefaultTransport.
	HTTPClient *http.Client
}

// Validate reports every problem with c in one error, or nil. The error never contains a
// secret.
func (c TwilioConfig) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch {
	case c.AccountSID == "":
		add("AccountSID is required")
	case !strings.HasPrefix(c.AccountSID, "AC") || len(c.AccountSID) != 34 || !isAlnum(c.AccountSID):
		add("AccountSID must be \"AC\" followed by 32 letters or digits")
	}
	switch {
	case c.AuthToken == "" && c.APIKey == "" && c.APISecret == "":
		add("AuthToken, or APIKey and APISecret, are required")
	case c.AuthToken != "" && (c.APIKey != "" || c.APISecret != ""):
		add("set either AuthToken or APIKey and APISecret, not both")
	case c.AuthToken != "":
		if !isAlnum(c.AuthToken) {
			add("AuthToken must contain only letters and digits")
		}
	default:
		if c.APIKey == "" {
			add("APIKey is required with APISecret")
		} else if !strings.HasPrefix(c.APIKey, "SK") || !isAlnum(c.APIKey) {
			add("APIKey must be \"SK\" followed by letters or digits")
		}
		if c.APISecret == "" {
			add("APISecret is required with APIKey")
		} else if !isAlnum(c.APISecret) {
			add("APISecret must contain only letters and digits")
		}
	}
	switch {
	case c.VerifyServiceSID != "":
		if c.From != "" || c.MessagingServiceSID != "" {
			add("set either VerifyServiceSID or a sender (From, MessagingServiceSID), not both")
		}
		if !strings.HasPrefix(c.VerifyServiceSID, "VA") || !isAlnum(c.VerifyServiceSID) {
			add("VerifyServiceSID must be \"VA\" followed by letters or digits")
		}
	case c.From == "" && c.MessagingServiceSID == "":
		add("From (TWILIO_PHONE_NUMBER) or MessagingServiceSID is required")
	case c.From != "" && c.MessagingServiceSID != "":
		add("set either From or MessagingServiceSID, not both")
	case c.MessagingServiceSID != "":
		if !strings.HasPrefix(c.MessagingServiceSID, "MG") || !isAlnum(c.MessagingServiceSID) {
			add("MessagingServiceSID must be \"MG\" followed by letters or digits")
		}
	case strings.HasPrefix(c.From, "+"):
		if n, err := phone.Normalize(c.From, ""); err != nil || n != c.From {
			add("From must be an E.164 number: \"+\" and digits only")
		}
	case strings.ContainsFunc(c.From, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		add("From must not contain spaces or control characters")
	}
	if c.APIURL != "" {
		if _, err := parseAPIURL(c.APIURL); err != nil {
			add("APIURL (TWILIO_API_URL): %v", err)
		}
	}
	if c.StatusCallback != "" {
		if u, err := url.Parse(c.StatusCallback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("StatusCallback must be an absolute http or https URL")
		}
	}
	if c.Timeout < 0 {
		add("Timeout must not be negative")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("sms: invalid Twilio configuration: %s", strings.Join(problems, "; "))
}

// parseAPIURL accepts an absolute http or https URL with a host and nothing after it.
func parseAPIURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("scheme must be http or https")
	case u.Host == "":
		return nil, errors.New("host is required")
	case u.User != nil:
		return nil, errors.New("must not contain user info")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, errors.New("must be a scheme and host only, without path, query or fragment")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func isAlnum(s string) bool {
	for i := range len(s) {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

// Twilio sends messages through Twilio's Programmable Messaging API with the twilio-go client.
// It is safe for concurrent use.
//
// Failures are mapped onto the Sender contract: Twilio error codes that mean the number cannot
// receive SMS (21211, 21614, 21408, 21610, 21612, 30003, 30005, 30006, 60200, …) wrap
// ErrUndeliverable; a throttled request (HTTP 429 or code 20429) is retried once after the
// delay Twilio asks for (Retry-After, else 1 s, plus a little jitter; never more than 5 s nor
// past ctx's deadline) and then wraps ErrUnavailable; HTTP 5xx, timeouts and connection
// errors wrap ErrUnavailable and are not retried, because the message may have been sent and
// a retry could send (and bill) it twice (SECURITY REL-06). Other failures are plain errors.
// Errors name the number only masked, and never contain the body, Twilio's error message (it
// can repeat the number) or a credential.
type Twilio struct {
	api                       twilioAPI
	from, messagingServiceSID string
	statusCallback            string
}

// NewTwilio validates cfg and returns a Twilio sender. It does not contact Twilio.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.VerifyServiceSID != "" {
		return nil, errors.New("sms: invalid Twilio configuration: VerifyServiceSID is for NewTwilioVerify")
	}
	return &Twilio{
		api:                 newTwilioAPI(cfg),
		from:                cfg.From,
		messagingServiceSID: cfg.MessagingServiceSID,
		statusCallback:      cfg.StatusCallback,
	}, nil
}

// Send sends m. See Twilio for how failures map onto ErrUndeliverable and ErrUnavailable. With a
// journal, a Key sent before is refused with ErrAlreadySent and nothing reaches Twilio.
func (t *Twilio) Send(ctx context.Context, m Message) error {
	if err := t.send(ctx, m); err != nil {
		return fmt.Errorf("sms: twilio: send to %s: %w", phone.MaskForLog(m.To), err)
	}
	return nil
}

func (t *Twilio) send(ctx context.Context, m Message) error {
	switch {
	case !isE164(m.To):
		return fmt.Errorf("recipient is not an E.164 number: %w", ErrUndeliverable)
	case m.Body == "":
		return errors.New("empty message body")
	case utf8.RuneCountInString(m.Body) > maxBodyLen:
		return fmt.Errorf("message body longer than %d characters", maxBodyLen)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not sent: %w", err)
	}
	key, err := t.api.claim(ctx, providerTwilio, m)
	if err != nil {
		return err
	}
	var sid, status string
	err = t.api.call(ctx, func(rc *twilio.RestClient) error {
		params := &twilioapi.CreateMessageParams{}
		params.SetTo(m.To)
		params.SetBody(m.Body)
		if t.messagingServiceSID != "" {
			params.SetMessagingServiceSid(t.messagingServiceSID)
		} else {
			params.SetFrom(t.from)
		}
		if m.ValidFor > 0 {
			params.SetValidityPeriod(validitySeconds(m.ValidFor))
		}
		if t.statusCallback != "" {
			params.SetStatusCallback(t.statusCallback)
		}
		msg, err := rc.Api.CreateMessage(params)
		if err == nil && msg != nil {
			sid, status = deref(msg.Sid), deref(msg.Status)
		}
		return err
	})
	t.api.finish(ctx, key, sid, status, err)
	return err
}

// Journal providers (storage.SMSMessage.Provider).
const (
	providerTwilio       = "twilio"
	providerTwilioVerify = "twilio-verify"
)

// journalTimeout bounds recording a send's outcome, which runs even when the caller's
// context has ended.
const journalTimeout = 5 * time.Second

// twilioAPI is what the Messages and Verify senders share: credentials, the transport to
// Twilio (or TWILIO_API_URL), the throttling retry, and the journal.
type twilioAPI struct {
	username, password, accountSID string
	target                         *url.URL // where *.twilio.com requests go; nil: Twilio itself
	timeout                        time.Duration
	base                           http.RoundTripper
	journal                        storage.SMSMessages
	now                            func() time.Time
	log                            *slog.Logger
}

// newTwilioAPI builds the shared part from a validated configuration.
func newTwilioAPI(cfg TwilioConfig) twilioAPI {
	t := twilioAPI{
		username:   cfg.AccountSID,
		password:   cfg.AuthToken,
		accountSID: cfg.AccountSID,
		timeout:    cfg.Timeout,
		base:       http.DefaultTransport,
		journal:    cfg.Journal,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	if cfg.APIKey != "" {
		t.username, t.password = cfg.APIKey, cfg.APISecret
	}
	if t.timeout == 0 {
		t.timeout = DefaultTwilioTimeout
	}
	if cfg.APIURL != "" {
		t.target, _ = parseAPIURL(cfg.APIURL) // checked by Validate
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		t.base = cfg.HTTPClient.Transport
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t
}

// JournalKey is the journal's key of a message key: its SHA-256, hex. The journal never holds
// the flow IDs that message keys are made of.
func JournalKey(messageKey string) string {
	sum := sha256.Sum256([]byte(messageKey))
	return hex.EncodeToString(sum[:])
}

// claim records m in the journal before it is sent and returns its journal key: "" when there
// is no journal or m has no Key. A key claimed before is ErrAlreadySent: the message has been
// sent, or its sending was begun by a process that may have died; either way it is not sent
// again (a code is never sent twice).
func (t *twilioAPI) claim(ctx context.Context, provider string, m Message) (string, error) {
	if t.journal == nil || m.Key == "" {
		return "", nil
	}
	key := JournalKey(m.Key)
	now := t.now().UTC()
	err := t.journal.ClaimSMSMessage(ctx, storage.SMSMessage{
		Key: key, Provider: provider, Status: storage.SMSStatusClaimed, Country: phone.Region(m.To),
		CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return "", ErrAlreadySent
	}
	if err != nil {
		return "", fmt.Errorf("not sent: journal: %w", err)
	}
	return key, nil
}

// finish records the outcome of sending a claimed message. A failure to record it is logged,
// not returned: the message has gone (or not) either way.
func (t *twilioAPI) finish(ctx context.Context, key, sid, status string, sendErr error) {
	if key == "" {
		return
	}
	code := 0
	switch {
	case sendErr != nil:
		status, code = outcome(sendErr)
	case status == "":
		status = "queued"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), journalTimeout)
	defer cancel()
	if err := t.journal.FinishSMSMessage(ctx, key, sid, status, code, t.now().UTC()); err != nil {
		t.log.WarnContext(ctx, "SMS journal: could not record the outcome of a send", "sid", sid, "status", status, "error", err)
	}
}

// outcome is the journal status and Twilio error code of a failed send: not_sent when Twilio
// answered with a refusal (a 4xx, throttling included: a 429 is never processed), unknown when
// the message may have been sent (a 5xx, a timeout, a broken connection).
func outcome(err error) (string, int) {
	var te *twilioError
	if errors.As(err, &te) {
		if te.status >= 400 && te.status < 500 {
			return storage.SMSStatusNotSent, te.code
		}
		return storage.SMSStatusUnknown, te.code
	}
	return storage.SMSStatusUnknown, 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// call runs fn with a twilio-go client bound to ctx. A throttled request is retried once after
// the delay Twilio asks for, if that is at most maxRetryAfter and ctx leaves time for it;
// nothing else is retried.
func (t *twilioAPI) call(ctx context.Context, fn func(rc *twilio.RestClient) error) error {
	retryAfter, err := t.attempt(ctx, fn)
	if retryAfter < 0 {
		return err // success, or a failure that must not be retried
	}
	if retryAfter > maxRetryAfter {
		return fmt.Errorf("%w; Twilio asked to wait %s, not retrying", err, retryAfter)
	}
	wait := retryAfter + rand.N(retryAfter/10+1) // jitter spreads the retries of many instances
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return fmt.Errorf("%w; no time left to retry", err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w; retry abandoned: %w", err, ctx.Err())
	case <-timer.C:
	}
	_, err = t.attempt(ctx, fn) // the one retry: a second 429 is final
	if err != nil {
		return fmt.Errorf("after one retry: %w", err)
	}
	return nil
}

// attempt makes one request. It returns the classified error (nil on success) and, when the
// request was throttled and may be retried, how long to wait first; otherwise retryAfter < 0.
func (t *twilioAPI) attempt(ctx context.Context, fn func(rc *twilio.RestClient) error) (retryAfter time.Duration, err error) {
	tr := &transport{ctx: ctx, base: t.base, target: t.target}
	c := &client.Client{
		Credentials: client.NewCredentials(t.username, t.password),
		HTTPClient: &http.Client{
			Transport:     tr,
			Timeout:       t.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(t.accountSID)
	// A client per request: twilio-go sends every request with context.Background(), so the
	// caller's ctx can reach the request only through this call's transport.
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	rc.SetEdge("")   // twilio-go reads TWILIO_EDGE and TWILIO_REGION from the environment;
	rc.SetRegion("") // otpidp configures Twilio only through TwilioConfig

	if err := fn(rc); err != nil {
		status, header := tr.last()
		return classify(ctx, err, status, header)
	}
	return -1, nil
}

// validitySeconds rounds d up to whole seconds within Twilio's range, 1..36000.
func validitySeconds(d time.Duration) int {
	d = min(max(d, time.Second), maxValidity)
	return int((d + time.Second - 1) / time.Second)
}

// isUndeliverable reports whether a Twilio error code means this number cannot receive our
// SMS, so that a retry will not help.
func isUndeliverable(code int) bool {
	switch code {
	case 21211, // invalid 'To' phone number
		21214, // 'To' phone number cannot be reached
		21217, // phone number does not appear to be valid
		21219, // 'To' phone number not verified (trial account)
		21401, // invalid phone number
		21407, // this phone number type does not support SMS
		21408, // permission to send to this region is not enabled (geo permissions)
		21421, // phone number is invalid
		21610, // recipient unsubscribed (replied STOP)
		21612, // 'To' number is not currently reachable via SMS
		21614, // 'To' number is not a valid mobile number
		21635, // 'To' number cannot be a landline
		30003, // unreachable destination handset
		30005, // unknown destination handset
		30006, // landline or unreachable carrier
		60200, // Verify: invalid parameter (the number)
		60205, // Verify: SMS is not supported by landline phone number
		60410: // Verify: Fraud Guard blocked this prefix
		return true
	default:
		return false
	}
}

// classify maps a twilio-go error onto the Sender contract. status and header come from the
// last HTTP response (status 0: none arrived).
func classify(ctx context.Context, err error, status int, header http.Header) (time.Duration, error) {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		code := rest.Code
		if rest.Status != 0 {
			status = rest.Status
		}
		// Keep the code, status and documentation link; drop Message and Details, which can
		// repeat the phone number.
		safe := &client.TwilioRestError{Code: code, Status: status, MoreInfo: rest.MoreInfo}
		switch {
		case isUndeliverable(code):
			return -1, &twilioError{code: code, status: status, kind: ErrUndeliverable, rest: safe}
		case code == 60202: // Verify: max check attempts (HTTP 429, but not a throttle)
			return -1, &twilioError{code: code, status: status, kind: ErrCheckLimit, rest: safe}
		case code == 60203: // Verify: max send attempts for this verification
			return -1, &twilioError{code: code, status: status, kind: ErrUnavailable, rest: safe, note: "too many sends"}
		case code == 20404:
			return -1, &twilioError{code: code, status: status, kind: ErrNoVerification, rest: safe}
		case code == 20429 || status == http.StatusTooManyRequests:
			return retryAfter(header), &twilioError{code: code, status: status, kind: ErrUnavailable, rest: safe, note: "throttled"}
		case status >= 500:
			return -1, &twilioError{code: code, status: status, kind: ErrUnavailable, rest: safe}
		default:
			return -1, &twilioError{code: code, status: status, rest: safe}
		}
	}
	if status != 0 {
		// An HTTP error whose body was not Twilio's JSON (a proxy, a load balancer).
		switch {
		case status == http.StatusTooManyRequests:
			return retryAfter(header), &twilioError{status: status, kind: ErrUnavailable, note: "throttled"}
		case status >= 500:
			return -1, &twilioError{status: status, kind: ErrUnavailable}
		case status >= 400:
			return -1, &twilioError{status: status}
		}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// The request did not complete. Whether Twilio took the message is unknown, so it is
		// not retried. urlErr itself names the URL; keep only its cause.
		cause := urlErr.Err
		var netErr net.Error
		switch {
		case ctx.Err() != nil:
			return -1, fmt.Errorf("%w: request abandoned, the message may have been sent: %w", ErrUnavailable, ctx.Err())
		case urlErr.Timeout() || errors.As(cause, &netErr) && netErr.Timeout():
			return -1, fmt.Errorf("%w: request timed out, the message may have been sent: %w", ErrUnavailable, cause)
		default:
			return -1, fmt.Errorf("%w: request failed: %w", ErrUnavailable, cause)
		}
	}
	if status >= 200 && status < 300 {
		// Twilio answered success but the body did not decode; the message was probably sent.
		return -1, fmt.Errorf("unreadable Twilio response (HTTP %d): %w", status, err)
	}
	return -1, fmt.Errorf("twilio request: %w", err)
}

// twilioError is a Twilio API failure with a message that is safe to log.
type twilioError struct {
	code, status int
	kind         error // ErrUndeliverable, ErrUnavailable or nil
	rest         *client.TwilioRestError
	note         string
}

func (e *twilioError) Error() string {
	var b strings.Builder
	b.WriteString("twilio ")
	if e.code != 0 {
		b.WriteString("error " + strconv.Itoa(e.code) + " ")
	}
	b.WriteString("(HTTP " + strconv.Itoa(e.status))
	if e.note != "" {
		b.WriteString(", " + e.note)
	}
	b.WriteString(")")
	if e.kind != nil {
		b.WriteString(": " + e.kind.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is find the sentinel and errors.As find the *client.TwilioRestError (with
// its Message and Details removed).
func (e *twilioError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.rest != nil {
		errs = append(errs, e.rest)
	}
	return errs
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); missing or unreadable gives
// defaultRetryAfter.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return defaultRetryAfter
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0)
	}
	return defaultRetryAfter
}

// isE164 reports whether s is "+" followed by 2 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// transport carries one Send's ctx into twilio-go's requests, sends *.twilio.com requests to
// target, reads each response fully (so the connection is reused and the ctx released), and
// remembers the last response's status and headers, which twilio-go drops on errors.
type transport struct {
	ctx    context.Context
	base   http.RoundTripper
	target *url.URL

	mu     sync.Mutex
	status int
	header http.Header
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// req's ctx carries the http.Client timeout; tr.ctx is the caller's. Either ends the request.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	stop := context.AfterFunc(tr.ctx, cancel)
	defer stop()

	out := req.Clone(ctx)
	if tr.target != nil && isTwilioHost(out.URL.Hostname()) {
		out.URL.Scheme = tr.target.Scheme
		out.URL.Host = tr.target.Host
		out.Host = ""
	}
	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	tr.mu.Lock()
	tr.status, tr.header = resp.StatusCode, resp.Header.Clone()
	tr.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// last returns the status and headers of the last response (0 and an empty header if none).
func (tr *transport) last() (int, http.Header) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.header == nil {
		return tr.status, http.Header{}
	}
	return tr.status, tr.header
}

func isTwilioHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "twilio.com" || strings.HasSuffix(host, ".twilio.com")
}
