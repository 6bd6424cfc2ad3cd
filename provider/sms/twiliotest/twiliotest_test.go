package twiliotest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"
	verify "github.com/twilio/twilio-go/rest/verify/v2"

	"github.com/otpidp/otpidp/provider/sms/twiliotest"
)

const (
	account = "AC0123456789abcdef0123456789abcdef"
	token   = "T0kenSecretValue0123456789abcdef"
	apiKey  = "SK0123456789abcdef0123456789abcdef"
	service = "VA0123456789abcdef0123456789abcdef"
	to      = "+14155552671"
)

// rewrite sends *.twilio.com requests to the fake.
type rewrite struct{ target *url.URL }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rw.target.Scheme, rw.target.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

// newClient returns the real twilio-go client, talking to fake as user.
func newClient(t *testing.T, fake *twiliotest.Server, user, accountSID string) *twilio.RestClient {
	t.Helper()
	target, err := url.Parse(fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(user, token),
		HTTPClient:  &http.Client{Transport: rewrite{target}, Timeout: 5 * time.Second},
	}
	c.SetAccountSid(accountSID)
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	rc.SetEdge("")
	rc.SetRegion("")
	return rc
}

func restError(t *testing.T, err error) *client.TwilioRestError {
	t.Helper()
	var rest *client.TwilioRestError
	if !errors.As(err, &rest) {
		t.Fatalf("error %v is not a *client.TwilioRestError", err)
	}
	return rest
}

func TestMessage(t *testing.T) {
	fake := twiliotest.New(t)
	rc := newClient(t, fake, account, account)
	params := &twilioapi.CreateMessageParams{}
	params.SetTo(to)
	params.SetFrom("+14155550100")
	params.SetBody("Your code is 123456\n\n@idp.example.com #123456")
	params.SetValidityPeriod(300)

	msg, err := rc.Api.CreateMessage(params)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if msg.Sid == nil || !strings.HasPrefix(*msg.Sid, "SM") || len(*msg.Sid) != 34 {
		t.Errorf("sid = %v, want SM + 32 characters", msg.Sid)
	}
	if msg.Status == nil || *msg.Status != "queued" {
		t.Errorf("status = %v, want queued", msg.Status)
	}
	if msg.AccountSid == nil || *msg.AccountSid != account || msg.To == nil || *msg.To != to {
		t.Errorf("account_sid, to = %v, %v", msg.AccountSid, msg.To)
	}
	got := fake.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages recorded, want 1", len(got))
	}
	want := twiliotest.Message{
		SID: *msg.Sid, To: to, From: "+14155550100", Body: *params.Body, ValidityPeriod: 300, User: account,
	}
	if got[0] != want {
		t.Errorf("recorded %+v, want %+v", got[0], want)
	}
	if code, ok := fake.LastCode(to); !ok || code != "123456" {
		t.Errorf("LastCode = %q, %v; want 123456", code, ok)
	}
	if _, ok := fake.LastCode("+14155550199"); ok {
		t.Error("LastCode found a code for a number that got none")
	}
}

func TestMessageRefusals(t *testing.T) {
	tests := []struct {
		name       string
		user       string
		accountSID string
		apiKey     bool
		params     func(*twilioapi.CreateMessageParams)
		wantStatus int
		wantCode   int
	}{
		{"wrong account in path", account, "AC" + strings.Repeat("f", 32), false, nil, 401, 20003},
		{"unknown API key", apiKey, account, false, nil, 401, 20003},
		{"API key of another account", apiKey, "AC" + strings.Repeat("e", 32), true, nil, 401, 20003},
		{"user is neither account nor key", "XX123", account, false, nil, 401, 20003},
		{"no To", account, account, false, func(p *twilioapi.CreateMessageParams) { p.To = nil }, 400, 21604},
		{"To not E.164", account, account, false, func(p *twilioapi.CreateMessageParams) { p.SetTo("4155552671") }, 400, 21211},
		{"no sender", account, account, false, func(p *twilioapi.CreateMessageParams) { p.From = nil }, 400, 21603},
		{"no body", account, account, false, func(p *twilioapi.CreateMessageParams) { p.Body = nil }, 400, 21602},
		{"validity too long", account, account, false, func(p *twilioapi.CreateMessageParams) { p.SetValidityPeriod(36001) }, 400, 21624},
		{"validity zero", account, account, false, func(p *twilioapi.CreateMessageParams) { p.SetValidityPeriod(0) }, 400, 21624},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			if tt.apiKey {
				fake.AddAPIKey(apiKey, account)
			}
			params := &twilioapi.CreateMessageParams{}
			params.SetTo(to)
			params.SetFrom("+14155550100")
			params.SetBody("hello")
			if tt.params != nil {
				tt.params(params)
			}
			_, err := newClient(t, fake, tt.user, tt.accountSID).Api.CreateMessage(params)
			rest := restError(t, err)
			if rest.Status != tt.wantStatus || rest.Code != tt.wantCode {
				t.Errorf("status, code = %d, %d; want %d, %d", rest.Status, rest.Code, tt.wantStatus, tt.wantCode)
			}
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("%d messages recorded, want 0", n)
			}
			if n := fake.Requests(); n != 1 {
				t.Errorf("Requests() = %d, want 1", n)
			}
		})
	}
}

func TestMessageNoAuth(t *testing.T) {
	fake := twiliotest.New(t)
	resp, err := http.PostForm(fake.URL()+"/2010-04-01/Accounts/"+account+"/Messages.json",
		url.Values{"To": {to}, "From": {"+14155550100"}, "Body": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
		Status   int    `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 || body.Code != 20003 || body.Status != 401 || body.MoreInfo == "" {
		t.Errorf("got HTTP %d %+v, want 401 with code 20003", resp.StatusCode, body)
	}
}

func TestMessageAPIKeyAndService(t *testing.T) {
	fake := twiliotest.New(t)
	fake.AddAPIKey(apiKey, account)
	params := &twilioapi.CreateMessageParams{}
	params.SetTo(to)
	params.SetMessagingServiceSid("MG0123456789abcdef0123456789abcdef")
	params.SetBody("hello")
	msg, err := newClient(t, fake, apiKey, account).Api.CreateMessage(params)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if msg.Status == nil || *msg.Status != "accepted" {
		t.Errorf("status = %v, want accepted", msg.Status)
	}
	got := fake.Messages()
	if len(got) != 1 || got[0].User != apiKey || got[0].MessagingServiceSid != *params.MessagingServiceSid || got[0].From != "" {
		t.Errorf("recorded %+v", got)
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		f          twiliotest.Failure
		wantStatus int
		wantCode   int
	}{
		{twiliotest.InvalidNumber, 400, 21211},
		{twiliotest.Landline, 400, 21614},
		{twiliotest.TooManyRequests, 429, 20429},
		{twiliotest.ServerError, 500, 20500},
		{twiliotest.RegionNotEnabled, 400, 21408},
		{twiliotest.VerifyInvalidNumber, 400, 60200},
	}
	for _, tt := range tests {
		t.Run(tt.f.String(), func(t *testing.T) {
			fake := twiliotest.New(t)
			fake.FailNext(tt.f)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
				fake.URL()+"/2010-04-01/Accounts/"+account+"/Messages.json",
				strings.NewReader(url.Values{"To": {to}, "From": {"+14155550100"}, "Body": {"x"}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(account, token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Code, Status int }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || body.Status != tt.wantStatus || body.Code != tt.wantCode {
				t.Errorf("got HTTP %d %+v, want %d code %d", resp.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if tt.f == twiliotest.TooManyRequests && resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q, want 1", resp.Header.Get("Retry-After"))
			}
			if len(fake.Messages()) != 0 {
				t.Error("a failed request recorded a message")
			}
		})
	}
}

func TestFailureQueue(t *testing.T) {
	fake := twiliotest.New(t)
	rc := newClient(t, fake, account, account)
	send := func() int {
		params := &twilioapi.CreateMessageParams{}
		params.SetTo(to)
		params.SetFrom("+14155550100")
		params.SetBody("hello")
		_, err := rc.Api.CreateMessage(params)
		if err == nil {
			return 0
		}
		return restError(t, err).Code
	}
	fake.FailNext(twiliotest.InvalidNumber)
	fake.FailNext(twiliotest.ServerError)
	fake.FailAlways(twiliotest.Landline)
	var got []int
	for range 4 {
		got = append(got, send())
	}
	fake.FailAlways(0)
	got = append(got, send())
	want := []int{21211, 20500, 21614, 21614, 0}
	if !slices.Equal(got, want) {
		t.Errorf("codes = %v, want %v", got, want)
	}
	if fake.Requests() != 5 || len(fake.Messages()) != 1 {
		t.Errorf("Requests() = %d, messages = %d; want 5, 1", fake.Requests(), len(fake.Messages()))
	}
}

// TestHangReleasedOnClose checks that a hanging request does not keep the server from closing.
func TestHangReleasedOnClose(t *testing.T) {
	done := make(chan error, 1)
	t.Run("server", func(t *testing.T) {
		fake := twiliotest.New(t)
		fake.FailAlways(twiliotest.Hang)
		req, err := http.NewRequest(http.MethodPost, fake.URL()+"/2010-04-01/Accounts/"+account+"/Messages.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(account, token)
		go func() {
			resp, err := http.DefaultClient.Do(req) // no timeout: only the server's close ends it
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		deadline := time.Now().Add(5 * time.Second)
		for fake.Requests() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if fake.Requests() != 1 {
			t.Fatal("the request never arrived")
		}
	}) // the fake closes here
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the hanging request outlived the server")
	}
}

func TestVerify(t *testing.T) {
	fake := twiliotest.New(t)
	rc := newClient(t, fake, account, account)

	start := func() (*verify.VerifyV2Verification, error) {
		p := &verify.CreateVerificationParams{}
		p.SetTo(to)
		p.SetChannel("sms")
		return rc.VerifyV2.CreateVerification(service, p)
	}
	check := func(code string) (*verify.VerifyV2VerificationCheck, error) {
		p := &verify.CreateVerificationCheckParams{}
		p.SetTo(to)
		p.SetCode(code)
		return rc.VerifyV2.CreateVerificationCheck(service, p)
	}

	v, err := start()
	if err != nil {
		t.Fatalf("CreateVerification: %v", err)
	}
	if v.Status == nil || *v.Status != "pending" || v.Sid == nil || !strings.HasPrefix(*v.Sid, "VE") || v.Valid == nil || *v.Valid {
		t.Errorf("verification = status %v sid %v valid %v", v.Status, v.Sid, v.Valid)
	}
	code, ok := fake.LastCode(to)
	if !ok || len(code) != 6 {
		t.Fatalf("LastCode = %q, %v", code, ok)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].VerifyServiceSid != service || msgs[0].To != to || msgs[0].User != account {
		t.Errorf("recorded %+v", msgs)
	}

	// A resend within the verification sends the same code.
	if _, err := start(); err != nil {
		t.Fatalf("second CreateVerification: %v", err)
	}
	if again, _ := fake.LastCode(to); again != code {
		t.Errorf("resend sent %q, want the same code %q", again, code)
	}

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	c, err := check(wrong)
	if err != nil {
		t.Fatalf("check wrong code: %v", err)
	}
	if *c.Status != "pending" || *c.Valid {
		t.Errorf("wrong code: status %q valid %v", *c.Status, *c.Valid)
	}
	c, err = check(code)
	if err != nil {
		t.Fatalf("check right code: %v", err)
	}
	if *c.Status != "approved" || !*c.Valid {
		t.Errorf("right code: status %q valid %v", *c.Status, *c.Valid)
	}
	// Approved verifications are gone.
	_, err = check(code)
	if rest := restError(t, err); rest.Status != 404 || rest.Code != 20404 {
		t.Errorf("check after approval: %d %d, want 404 20404", rest.Status, rest.Code)
	}
}

func TestVerifyLimits(t *testing.T) {
	fake := twiliotest.New(t)
	rc := newClient(t, fake, account, account)
	p := &verify.CreateVerificationParams{}
	p.SetTo(to)
	p.SetChannel("sms")
	p.SetCustomCode("246810")
	for i := range 5 {
		if _, err := rc.VerifyV2.CreateVerification(service, p); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	_, err := rc.VerifyV2.CreateVerification(service, p)
	if rest := restError(t, err); rest.Status != 429 || rest.Code != 60203 {
		t.Errorf("6th send: %d %d, want 429 60203", rest.Status, rest.Code)
	}

	cp := &verify.CreateVerificationCheckParams{}
	cp.SetTo(to)
	cp.SetCode("999999")
	for i := range 5 {
		if _, err := rc.VerifyV2.CreateVerificationCheck(service, cp); err != nil {
			t.Fatalf("check %d: %v", i+1, err)
		}
	}
	cp.SetCode("246810") // right, but too late
	_, err = rc.VerifyV2.CreateVerificationCheck(service, cp)
	if rest := restError(t, err); rest.Status != 429 || rest.Code != 60202 {
		t.Errorf("6th check: %d %d, want 429 60202", rest.Status, rest.Code)
	}

	// The verification is over: a new send starts a new one.
	p.SetCustomCode("135790")
	v, err := rc.VerifyV2.CreateVerification(service, p)
	if err != nil || v.Sid == nil {
		t.Fatalf("send after the check limit: %v", err)
	}
	cp.SetCode("135790")
	if c, err := rc.VerifyV2.CreateVerificationCheck(service, cp); err != nil || *c.Status != "approved" {
		t.Fatalf("check of the new verification: %v", err)
	}

	cp.SetTo("+14155550199")
	_, err = rc.VerifyV2.CreateVerificationCheck(service, cp)
	if rest := restError(t, err); rest.Status != 404 || rest.Code != 20404 {
		t.Errorf("check without verification: %d %d, want 404 20404", rest.Status, rest.Code)
	}

	bad := &verify.CreateVerificationParams{}
	bad.SetTo("not a number")
	bad.SetChannel("sms")
	_, err = rc.VerifyV2.CreateVerification(service, bad)
	if rest := restError(t, err); rest.Status != 400 || rest.Code != 60200 {
		t.Errorf("invalid To: %d %d, want 400 60200", rest.Status, rest.Code)
	}
}

func TestLastCode(t *testing.T) {
	tests := []struct {
		name   string
		bodies []string
		want   string
		wantOK bool
	}{
		{"origin-bound line", []string{"Your code is 123456\n\n@idp.example.com #123456"}, "123456", true},
		{"leading zeros", []string{"Code: 000123"}, "000123", true},
		{"last message wins", []string{"code 111111", "code 222222"}, "222222", true},
		{"last message without a code is skipped", []string{"code 111111", "Welcome!"}, "111111", true},
		{"last run of six in the body", []string{"123456 then 654321"}, "654321", true},
		{"longer runs are not codes", []string{"call 4155552671 now"}, "", false},
		{"shorter runs are not codes", []string{"12345"}, "", false},
		{"no messages", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t)
			rc := newClient(t, fake, account, account)
			for _, body := range tt.bodies {
				p := &twilioapi.CreateMessageParams{}
				p.SetTo(to)
				p.SetFrom("+14155550100")
				p.SetBody(body)
				if _, err := rc.Api.CreateMessage(p); err != nil {
					t.Fatal(err)
				}
			}
			got, ok := fake.LastCode(to)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("LastCode = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSignMatchesTwilioGo(t *testing.T) {
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "To": {"+14155552671"}}
	const tok, u = "tok3n", "https://idp.example.com/twilio/status"
	v := client.NewRequestValidator(tok)
	if !v.ValidateBody(u, []byte(form.Encode()), twiliotest.Sign(tok, u, form)) {
		t.Fatal("twilio-go does not accept the fake's signature")
	}
	if v.ValidateBody(u, []byte(form.Encode()), twiliotest.Sign("other", u, form)) {
		t.Fatal("twilio-go accepts a signature under another token")
	}
}

func TestReportStatusNeedsACallback(t *testing.T) {
	fake := twiliotest.New(t)
	if _, err := fake.ReportStatus(t.Context(), "SM404", "delivered", 0, "tok"); err == nil {
		t.Fatal("ReportStatus of an unknown message succeeded")
	}
}
