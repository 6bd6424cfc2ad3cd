// Package twiliotest is a fake Twilio REST API for tests, built on net/http/httptest.
//
// It serves the two endpoints otpidp uses, answering with the JSON the real API returns:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json   (Programmable Messaging)
//	POST /v2/Services/{ServiceSid}/Verifications            (Verify: send a code)
//	POST /v2/Services/{ServiceSid}/VerificationCheck        (Verify: check a code)
//
// Every request needs HTTP basic auth. With an account SID ("AC…") as the user, the account in
// the path must be that SID; with an API key SID ("SK…"), the key must have been registered with
// AddAPIKey for that account. The fake does not know or check secrets. Accepted messages are
// recorded (Messages, LastCode); every request that reaches the server is counted (Requests);
// FailNext and FailAlways inject the failures Twilio produces in practice.
//
// Point the real twilio-go client at it by rewriting requests for *.twilio.com to URL(), as
// sms.TwilioConfig.APIURL does.
package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Failure is a failure the fake can inject instead of handling a request.
type Failure int

// The failures FailNext and FailAlways can inject. The zero Failure means "no failure".
const (
	// InvalidNumber answers HTTP 400, code 21211 ("Invalid 'To' Phone Number").
	InvalidNumber Failure = iota + 1
	// Landline answers HTTP 400, code 21614 ("'To' number is not a valid mobile number").
	Landline
	// TooManyRequests answers HTTP 429, code 20429, with "Retry-After: 1".
	TooManyRequests
	// ServerError answers HTTP 500, code 20500, with Twilio's JSON error body.
	ServerError
	// BadGateway answers HTTP 502 with an HTML body, as a proxy in front of Twilio does.
	BadGateway
	// Hang never answers: the handler blocks until the client gives up (the request's
	// context is done) or the server is closed.
	Hang
	// RegionNotEnabled answers HTTP 400, code 21408 ("Permission to send an SMS has not been
	// enabled for the region"): Twilio's geo permissions.
	RegionNotEnabled
	// VerifyInvalidNumber answers HTTP 400, code 60200 ("Invalid parameter `To`"), Verify's
	// refusal of a number.
	VerifyInvalidNumber
)

// String names the failure.
func (f Failure) String() string {
	switch f {
	case 0:
		return "none"
	case InvalidNumber:
		return "invalid number"
	case Landline:
		return "landline"
	case TooManyRequests:
		return "too many requests"
	case ServerError:
		return "server error"
	case BadGateway:
		return "bad gateway"
	case Hang:
		return "hang"
	case RegionNotEnabled:
		return "region not enabled"
	case VerifyInvalidNumber:
		return "verify invalid number"
	default:
		return "Failure(" + strconv.Itoa(int(f)) + ")"
	}
}

// Message is a message the fake accepted: one sent through the Messages API, or the SMS a
// Verify verification sent.
type Message struct {
	SID                 string // "SM…" for the Messages API, "VE…" for Verify
	To                  string
	From                string // "" when sent through a Messaging Service or Verify
	MessagingServiceSid string
	VerifyServiceSid    string // set for Verify messages
	Body                string
	ValidityPeriod      int    // seconds; 0 when the request had none
	User                string // the basic-auth user of the request (account or API key SID)
	StatusCallback      string // the StatusCallback URL the request gave; "" for none
	Locale              string // Verify: the Locale the request gave; "" for none
}

// Verify limits, as in the real service. A verification whose checks are used up is over
// (status max_attempts_reached): checking it again is error 60202, and a new send starts a
// new verification with a new code.
const (
	maxVerifyChecks = 5 // check attempts per verification (error 60202 after)
	maxVerifySends  = 5 // sends per verification (error 60203 after)
	maxBodyBytes    = 1 << 20
)

// Server is a running fake Twilio. Its methods are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	done chan struct{} // closed when the server shuts down; releases hanging handlers

	mu            sync.Mutex
	requests      int
	seq           int
	messages      []Message
	next          []Failure
	always        Failure
	apiKeys       map[string]string // API key SID → account SID
	verifications map[verificationKey]*verification
	accounts      map[string]string // message SID → account SID, for status callbacks
	latency       time.Duration     // every answer waits this long (SetLatency)
}

type verificationKey struct{ service, to string }

type verification struct {
	sid     string
	account string
	code    string
	sends   int
	checks  int
	created time.Time
}

// New starts a fake Twilio that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		done:          make(chan struct{}),
		apiKeys:       make(map[string]string),
		verifications: make(map[verificationKey]*verification),
		accounts:      make(map[string]string),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{AccountSid}/Messages.json", s.handleMessage)
	mux.HandleFunc("POST /v2/Services/{ServiceSid}/Verifications", s.handleVerification)
	mux.HandleFunc("POST /v2/Services/{ServiceSid}/VerificationCheck", s.handleVerificationCheck)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		latency := s.latency
		s.mu.Unlock()
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-s.done:
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
	})
	return s
}

// SetLatency makes every later request wait d before it is answered, as a slow Twilio does.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// URL is the fake's base URL ("http://127.0.0.1:port"), for sms.TwilioConfig.APIURL.
func (s *Server) URL() string { return s.srv.URL }

// Requests counts the requests that reached the server, failed ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Messages returns a copy of the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// FailNext makes the next request fail with f instead of being handled. Calls queue up: two
// calls fail the next two requests. Requests that are refused earlier (unknown path, missing
// auth) do not use up a queued failure.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, f)
}

// FailAlways makes every request fail with f once the FailNext queue is empty. FailAlways(0)
// stops it.
func (s *Server) FailAlways(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always = f
}

// AddAPIKey lets requests authenticate with the API key keySID (an "SK…" SID) for account
// accountSID, as Twilio's API keys do.
func (s *Server) AddAPIKey(keySID, accountSID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys[keySID] = accountSID
}

// LastCode returns the last 6-digit code sent to the number to: the last run of exactly six
// digits in the newest message to that number that has one.
func (s *Server) LastCode(to string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if s.messages[i].To != to {
			continue
		}
		if code, ok := lastSixDigits(s.messages[i].Body); ok {
			return code, true
		}
	}
	return "", false
}

func lastSixDigits(body string) (string, bool) {
	code, found := "", false
	for i := 0; i < len(body); {
		if !isDigit(body[i]) {
			i++
			continue
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j-i == 6 {
			code, found = body[i:j], true
		}
		i = j
	}
	return code, found
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// authenticate checks basic auth and returns the user and the account it acts for. account is
// the account SID in the path, or "" when the path has none (Verify).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, account string) (user, acting string, ok bool) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || pass == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return "", "", false
	}
	s.mu.Lock()
	keyAccount, isKey := s.apiKeys[user]
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(user, "AC"):
		acting = user
	case strings.HasPrefix(user, "SK") && isKey:
		acting = keyAccount
	default:
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return "", "", false
	}
	if account != "" && account != acting {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return "", "", false
	}
	return user, acting, true
}

// injectFailure answers with the pending failure, if any, and reports whether it did.
func (s *Server) injectFailure(w http.ResponseWriter, r *http.Request, to string) bool {
	s.mu.Lock()
	f := s.always
	if len(s.next) > 0 {
		f = s.next[0]
		s.next = s.next[1:]
	}
	s.mu.Unlock()
	switch f {
	case 0:
		return false
	case InvalidNumber:
		// Like the real API, the message repeats the number: callers must not pass it on.
		writeError(w, http.StatusBadRequest, 21211, "The 'To' number "+to+" is not a valid phone number.")
	case Landline:
		writeError(w, http.StatusBadRequest, 21614, "'To' number "+to+" is not a valid mobile number")
	case RegionNotEnabled:
		writeError(w, http.StatusBadRequest, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+to)
	case VerifyInvalidNumber:
		writeError(w, http.StatusBadRequest, 60200, "Invalid parameter `To`: "+to)
	case TooManyRequests:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
	case ServerError:
		writeError(w, http.StatusInternalServerError, 20500, "An internal server error has occurred")
	case BadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	default:
		writeError(w, http.StatusInternalServerError, 20500, "unknown injected failure "+f.String())
	}
	return true
}

func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Could not parse the request body")
		return false
	}
	return true
}

func (s *Server) handleMessage(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("AccountSid")
	user, _, ok := s.authenticate(w, r, account)
	if !ok || !s.parseForm(w, r) {
		return
	}
	to, from, service, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("MessagingServiceSid"), r.PostForm.Get("Body")
	if s.injectFailure(w, r, to) {
		return
	}
	validity := 0
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !isE164(to):
		writeError(w, http.StatusBadRequest, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	case from == "" && service == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	case service != "" && !strings.HasPrefix(service, "MG"):
		writeError(w, http.StatusBadRequest, 21701, "The Messaging Service Sid "+service+" is invalid.")
		return
	case body == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case len([]rune(body)) > 1600:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	if v := r.PostForm.Get("ValidityPeriod"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36000 {
			writeError(w, http.StatusBadRequest, 21624, "Invalid validity period value")
			return
		}
		validity = n
	}

	s.mu.Lock()
	s.seq++
	sid := fmt.Sprintf("SM%032x", s.seq)
	s.messages = append(s.messages, Message{
		SID: sid, To: to, From: from, MessagingServiceSid: service, Body: body,
		ValidityPeriod: validity, User: user, StatusCallback: r.PostForm.Get("StatusCallback"),
	})
	s.accounts[sid] = account
	s.mu.Unlock()

	now := time.Now().UTC().Format(time.RFC1123Z)
	status := "queued"
	if from == "" {
		status = "accepted" // a Messaging Service picks the sender later
	}
	uri := "/2010-04-01/Accounts/" + account + "/Messages/" + sid
	writeJSON(w, http.StatusCreated, map[string]any{
		"account_sid":           account,
		"api_version":           "2010-04-01",
		"body":                  body,
		"date_created":          now,
		"date_sent":             nil,
		"date_updated":          now,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(from),
		"messaging_service_sid": nullable(service),
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   sid,
		"status":                status,
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    to,
		"uri":                   uri + ".json",
	})
}

func (s *Server) handleVerification(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("ServiceSid")
	user, account, ok := s.authenticate(w, r, "")
	if !ok || !s.parseForm(w, r) {
		return
	}
	to, channel := r.PostForm.Get("To"), r.PostForm.Get("Channel")
	if s.injectFailure(w, r, to) {
		return
	}
	switch {
	case !strings.HasPrefix(service, "VA"):
		writeError(w, http.StatusNotFound, 20404, "The requested resource /Services/"+service+"/Verifications was not found")
		return
	case !isE164(to):
		writeError(w, http.StatusBadRequest, 60200, "Invalid parameter `To`: "+to)
		return
	case channel != "sms":
		writeError(w, http.StatusBadRequest, 60200, "Invalid parameter: Channel")
		return
	}
	custom := r.PostForm.Get("CustomCode")
	if custom != "" && !isDigits(custom, 4, 10) {
		writeError(w, http.StatusBadRequest, 60200, "Invalid parameter: CustomCode")
		return
	}

	key := verificationKey{service, to}
	s.mu.Lock()
	v := s.verifications[key]
	if v != nil && v.checks >= maxVerifyChecks {
		v = nil // its checks are used up ("max_attempts_reached"): a new verification starts
	}
	if v == nil {
		code := custom
		if code == "" {
			var err error
			if code, err = sixDigitCode(); err != nil {
				s.mu.Unlock()
				writeError(w, http.StatusInternalServerError, 20500, "An internal server error has occurred")
				return
			}
		}
		s.seq++
		v = &verification{sid: fmt.Sprintf("VE%032x", s.seq), account: account, code: code, created: time.Now().UTC()}
		s.verifications[key] = v
	}
	if v.sends >= maxVerifySends {
		s.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, 60203, "Max send attempts reached")
		return
	}
	v.sends++ // a resend within the verification's life sends the same code, as Verify does
	s.messages = append(s.messages, Message{
		SID: v.sid, To: to, VerifyServiceSid: service, User: user,
		Body: "Your verification code is: " + v.code, Locale: r.PostForm.Get("Locale"),
	})
	resp := verificationJSON(v, service, to, "pending", false)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) handleVerificationCheck(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("ServiceSid")
	if _, _, ok := s.authenticate(w, r, ""); !ok || !s.parseForm(w, r) {
		return
	}
	to, sid, code := r.PostForm.Get("To"), r.PostForm.Get("VerificationSid"), r.PostForm.Get("Code")
	if s.injectFailure(w, r, to) {
		return
	}
	if code == "" {
		writeError(w, http.StatusBadRequest, 60200, "Invalid parameter: Code")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	key := verificationKey{service, to}
	v := s.verifications[key]
	if sid != "" {
		v = nil
		for k, cand := range s.verifications {
			if k.service == service && cand.sid == sid {
				key, v = k, cand
			}
		}
	}
	if v == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource /Services/"+service+"/VerificationCheck was not found")
		return
	}
	if v.checks >= maxVerifyChecks {
		writeError(w, http.StatusTooManyRequests, 60202, "Max check attempts reached")
		return
	}
	v.checks++
	if code != v.code {
		writeJSON(w, http.StatusOK, verificationJSON(v, service, key.to, "pending", false))
		return
	}
	delete(s.verifications, key) // an approved verification is gone: a second check is a 404
	writeJSON(w, http.StatusOK, verificationJSON(v, service, key.to, "approved", true))
}

func verificationJSON(v *verification, service, to, status string, valid bool) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{
		"sid":          v.sid,
		"service_sid":  service,
		"account_sid":  v.account,
		"to":           to,
		"channel":      "sms",
		"status":       status,
		"valid":        valid,
		"lookup":       map[string]any{},
		"amount":       nil,
		"payee":        nil,
		"date_created": v.created.Format(time.RFC3339),
		"date_updated": now,
		"send_code_attempts": []map[string]any{
			{"attempt_sid": "VL" + v.sid[2:], "channel": "sms", "time": now},
		},
		"sna": nil,
		"url": "https://verify.twilio.com/v2/Services/" + service + "/Verifications/" + v.sid,
	}
}

// sixDigitCode returns a uniformly random code from 000000 to 999999.
func sixDigitCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("twiliotest: random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// isE164 reports whether s is "+" followed by 2 to 15 digits, the first not 0.
func isE164(s string) bool {
	return len(s) >= 3 && s[0] == '+' && s[1] != '0' && isDigits(s[1:], 2, 15)
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do about it
}

// Sign returns the X-Twilio-Signature Twilio sends with a form POST of form to callbackURL:
// base64(HMAC-SHA1(authToken, callbackURL followed by every parameter name and value, sorted
// by name)). Written from Twilio's documentation, independently of twilio-go's validator.
func Sign(authToken, callbackURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(callbackURL)
	for _, k := range names {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ReportStatus does what Twilio does when a message's status changes: it POSTs the status
// callback form (MessageSid, MessageStatus, ErrorCode when not 0, AccountSid, From, To, …) to
// the StatusCallback URL the message was sent with, signed with authToken (the fake knows no
// secrets: the test passes the one it configured). It returns the response's status code.
func (s *Server) ReportStatus(ctx context.Context, sid, status string, errorCode int, authToken string) (int, error) {
	s.mu.Lock()
	var msg *Message
	for i := range s.messages {
		if s.messages[i].SID == sid {
			msg = &s.messages[i]
		}
	}
	var m Message
	if msg != nil {
		m = *msg
	}
	account := s.accounts[sid]
	s.mu.Unlock()
	if msg == nil || m.StatusCallback == "" {
		return 0, errors.New("twiliotest: no message " + sid + " with a StatusCallback")
	}
	form := url.Values{
		"AccountSid":    {account},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {sid},
		"SmsSid":        {sid},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"To":            {m.To},
	}
	if m.From != "" {
		form.Set("From", m.From)
	}
	if m.MessagingServiceSid != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSid)
	}
	if errorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(authToken, m.StatusCallback, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
