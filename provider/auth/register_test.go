package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

func TestRegistration(t *testing.T) {
	e := newEnv(t)
	v, err := e.a.StartRegistration(t.Context(), "  "+testName+" ", testNational, testPassword, "ar-9", browser("a"))
	if err != nil {
		t.Fatalf("StartRegistration: %v", err)
	}
	wantView := FlowView{
		ID:            e.store.lastFlowID(t),
		Kind:          authflow.FlowRegister,
		MaskedPhone:   "+1 ••• ••• 2671",
		AuthRequestID: "ar-9",
		ResendAt:      testStart.Add(30 * time.Second),
		ExpiresAt:     testStart.Add(15 * time.Minute),
	}
	if diff := cmp.Diff(wantView, v); diff != "" {
		t.Errorf("FlowView (-want +got):\n%s", diff)
	}
	code := e.sms.lastCode(t)
	if want := "Your otpidp code is " + code + ". It expires in 5 minutes.\n\n@" + testHost + " #" + code; e.sms.last(t).Body != want {
		t.Errorf("SMS body = %q, want %q", e.sms.last(t).Body, want)
	}
	if strings.Contains(e.sms.last(t).Body, "Ada") {
		t.Error("SMS body contains the name")
	}

	// Pending: no user yet; the flow holds the argon2id hash, never the password.
	if _, err := e.store.GetUserByPhone(t.Context(), testPhone); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("user before verification: err = %v, want ErrNotFound", err)
	}
	f := e.flow(t, v.ID)
	if !strings.HasPrefix(f.PasswordHash, "$argon2id$v=19$") || strings.Contains(fmt.Sprintf("%+v", f), testPassword) {
		t.Errorf("flow PasswordHash = %q, want an argon2id hash and no password", f.PasswordHash)
	}
	if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("login before verification: err = %v, want ErrInvalidCredentials", err)
	}

	e.clock.Advance(time.Minute)
	res, err := e.a.VerifyRegistration(t.Context(), v.ID, browser("a"), code)
	if err != nil {
		t.Fatalf("VerifyRegistration: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(res.UserID) {
		t.Errorf("UserID = %q, want 128 bits in hex", res.UserID)
	}
	wantRes := Result{UserID: res.UserID, AuthTime: testStart.Add(time.Minute), AMR: []string{"pwd", "sms", "mfa"}, AuthRequestID: "ar-9"}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	u, err := e.store.GetUser(t.Context(), res.UserID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	wantUser := storage.User{ID: res.UserID, Phone: testPhone, PhoneVerified: true, Name: testName, PasswordHash: f.PasswordHash, CreatedAt: testStart.Add(time.Minute), UpdatedAt: testStart.Add(time.Minute)}
	if diff := cmp.Diff(wantUser, u); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if ok, err := e.a.VerifyPassword(t.Context(), testPassword, u.PasswordHash); !ok || err != nil {
		t.Errorf("VerifyPassword(stored hash) = %v, %v", ok, err)
	}
	if _, err := e.a.VerifyRegistration(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("second VerifyRegistration: err = %v, want ErrInvalidCode", err)
	}

	// The new user signs in.
	lv, lcode := e.login(t)
	if got, err := e.a.VerifyLogin(t.Context(), lv.ID, browser("a"), lcode); err != nil || got.UserID != res.UserID {
		t.Errorf("login of the new user = %+v, %v", got, err)
	}
}

// TestRegistrationExistingNumber: the answer is the same as for a new number (REG-01); the
// holder gets a notice instead of a code, and no code completes the flow.
func TestRegistrationExistingNumber(t *testing.T) {
	fresh := newEnv(t)
	taken := newEnv(t)
	owner := taken.addUser(t)

	register := func(e *env) (FlowView, int64) {
		t.Helper()
		before := e.a.hashCalls.Load()
		v, err := e.a.StartRegistration(t.Context(), "Mallory", "+1 415 555 2671", "another good passphrase", "ar-1", browser("a"))
		if err != nil {
			t.Fatalf("StartRegistration: %v", err)
		}
		return v, e.a.hashCalls.Load() - before
	}
	vFresh, hashesFresh := register(fresh)
	vTaken, hashesTaken := register(taken)
	if diff := cmp.Diff(vFresh, vTaken, cmpopts.IgnoreFields(FlowView{}, "ID")); diff != "" {
		t.Errorf("FlowView differs for a taken number (-fresh +taken):\n%s", diff)
	}
	if len(vFresh.ID) != len(vTaken.ID) {
		t.Errorf("flow ID lengths differ: %q vs %q", vFresh.ID, vTaken.ID)
	}
	if hashesFresh != 1 || hashesTaken != 1 {
		t.Errorf("password hashes: fresh %d, taken %d; want 1 each", hashesFresh, hashesTaken)
	}

	notice := sms.Message{
		To:       testPhone,
		Body:     "Someone tried to create a otpidp account with this number. You already have one: sign in, or reset your password.",
		ValidFor: 5 * time.Minute,
		Key:      vTaken.ID + "/1",
	}
	if diff := cmp.Diff(notice, taken.sms.last(t)); diff != "" {
		t.Errorf("SMS (-want +got):\n%s", diff)
	}

	// No six-digit code matches the flow's hash.
	f := taken.flow(t, vTaken.ID)
	if len(f.CodeHash) != sha256.Size {
		t.Fatalf("CodeHash has %d bytes, want %d", len(f.CodeHash), sha256.Size)
	}
	m := hmac.New(sha256.New, taken.a.hmacKey)
	msg := []byte(f.ID + ":000000")
	digits := msg[len(msg)-codeDigits:]
	var sum []byte
	for c := range codeSpace {
		for i, v := len(digits)-1, c; i >= 0; i, v = i-1, v/10 {
			digits[i] = byte('0' + v%10)
		}
		m.Reset()
		m.Write(msg)
		if sum = m.Sum(sum[:0]); hmac.Equal(sum, f.CodeHash) {
			t.Fatalf("code %s matches the flow of a taken number", digits)
		}
	}
	if !hmac.Equal(codeHash(taken.a.hmacKey, f.ID, string(digits)), sum) {
		t.Fatal("the search computed other hashes than codeHash") // guards the loop itself
	}
	if _, err := taken.a.VerifyRegistration(t.Context(), vTaken.ID, browser("a"), fresh.sms.lastCode(t)); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("VerifyRegistration: err = %v, want ErrInvalidCode", err)
	}

	// A resend sends the notice again, not a code.
	taken.clock.Advance(30 * time.Second)
	if _, err := taken.a.Resend(t.Context(), vTaken.ID, browser("a")); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if got := taken.sms.last(t).Body; got != notice.Body {
		t.Errorf("resent SMS = %q, want the notice", got)
	}
	u, err := taken.store.GetUserByPhone(t.Context(), testPhone)
	if err != nil || u.ID != owner.ID || u.Name != testName {
		t.Errorf("owner after the attempt = %+v, %v; want unchanged", u, err)
	}
}

// TestRegistrationRace: a number registered between the code and its check is ErrInvalidCode,
// and the earlier account stays.
func TestRegistrationRace(t *testing.T) {
	e := newEnv(t)
	v, err := e.a.StartRegistration(t.Context(), "Mallory", testPhone, "another good passphrase", "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	code := e.sms.lastCode(t)
	owner := e.addUser(t)
	if _, err := e.a.VerifyRegistration(t.Context(), v.ID, browser("a"), code); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("VerifyRegistration: err = %v, want ErrInvalidCode", err)
	}
	if u, err := e.store.GetUserByPhone(t.Context(), testPhone); err != nil || u.ID != owner.ID {
		t.Errorf("user = %+v, %v; want %q", u, err, owner.ID)
	}
}

// TestRegistrationRefused: every refusal happens before any hash or SMS.
func TestRegistrationRefused(t *testing.T) {
	fieldErr := func(field string, r Reason) error { return &FieldError{Field: field, Reason: r} }
	tests := []struct {
		name, person, phone, password string
		want                          error
	}{
		{"no name", "  ", testPhone, testPassword, fieldErr(FieldName, ReasonRequired)},
		{"name too long", strings.Repeat("é", MaxNameLength+1), testPhone, testPassword, fieldErr(FieldName, ReasonTooLong)},
		{"huge name", strings.Repeat("a", 10000), testPhone, testPassword, fieldErr(FieldName, ReasonTooLong)},
		{"name with a newline", "Ada\nLovelace", testPhone, testPassword, fieldErr(FieldName, ReasonControlCharacters)},
		{"name with NUL", "Ada\x00", testPhone, testPassword, fieldErr(FieldName, ReasonControlCharacters)},
		{"name not UTF-8", "Ada \xff", testPhone, testPassword, fieldErr(FieldName, ReasonInvalidEncoding)},
		{"not a phone number", testName, "12", testPassword, ErrInvalidPhone},
		{"letters in phone", testName, "+1-800-FLOWERS", testPassword, ErrInvalidPhone},
		{"landline", testName, "+441212345678", testPassword, ErrPhoneNotMobile},
		{"toll free", testName, "+18002345678", testPassword, ErrPhoneNotMobile},
		{"short password", testName, testPhone, "1234567", fieldErr(FieldPassword, ReasonTooShort)},
		{"5000-byte password", testName, testPhone, strings.Repeat("a", 5000), fieldErr(FieldPassword, ReasonTooLong)},
		{"password is the name", testName, testPhone, "ada LOVELACE", fieldErr(FieldPassword, ReasonIsName)},
		{"password is the phone", testName, testPhone, "(415) 555-2671", fieldErr(FieldPassword, ReasonIsPhone)},
		{"password has the phone", testName, testPhone, "me4155552671", fieldErr(FieldPassword, ReasonContainsPhone)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.a.hashCalls.Load()
			_, err := e.a.StartRegistration(t.Context(), tt.person, tt.phone, tt.password, "", browser("a"))
			checkErr(t, err, tt.want)
			if n := e.a.hashCalls.Load() - before; n != 0 {
				t.Errorf("%d password hashes, want 0", n)
			}
			if n := e.sms.count(); n != 0 {
				t.Errorf("%d SMS, want 0", n)
			}
			// The operator path validates the same way.
			_, err = e.a.CreateUser(t.Context(), tt.phone, tt.person, tt.password)
			checkErr(t, err, tt.want)
			if _, err := e.store.GetUserByPhone(t.Context(), testPhone); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a user was created: err = %v", err)
			}
		})
	}
}

func TestStartRegistrationNoBrowser(t *testing.T) {
	e := newEnv(t)
	if _, err := e.a.StartRegistration(t.Context(), testName, testPhone, testPassword, "", nil); !errors.Is(err, errNoBrowser) {
		t.Errorf("err = %v, want errNoBrowser", err)
	}
	if e.sms.count() != 0 {
		t.Error("SMS sent")
	}
}

// checkErr compares a FieldError by value and any other error with errors.Is.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if wantField, ok := want.(*FieldError); ok {
		var got *FieldError
		if !errors.As(err, &got) || *got != *wantField {
			t.Errorf("err = %v, want %v", err, want)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want %v", err, want)
	}
	if errors.Is(want, ErrInvalidPhone) && (!errors.Is(err, ErrInvalidPhone) || !errors.Is(err, phone.ErrInvalid)) {
		t.Errorf("err = %v, want it to wrap ErrInvalidPhone and phone.ErrInvalid", err)
	}
}

func TestCreateUser(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t)
	if u.Phone != testPhone || !u.PhoneVerified || u.Name != testName || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("CreateUser = %+v", u)
	}
	got, err := e.store.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("stored user (-returned +stored):\n%s", diff)
	}
	if _, err := e.a.CreateUser(t.Context(), testNational, "Someone Else", testPassword); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("second CreateUser for the number: err = %v, want ErrAlreadyExists", err)
	}
	if e.sms.count() != 0 {
		t.Errorf("CreateUser sent %d SMS", e.sms.count())
	}
}

// TestNFKCLogin: a password registered with "é" (U+00E9) signs in typed as "e" + U+0301 (PW-07).
func TestNFKCLogin(t *testing.T) {
	e := newEnv(t)
	if _, err := e.a.StartRegistration(t.Context(), testName, testPhone, "caf\u00e9 au lait s'il vous pla\u00eet", "", browser("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.VerifyRegistration(t.Context(), e.store.lastFlowID(t), browser("a"), e.sms.lastCode(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.StartLogin(t.Context(), testPhone, "cafe\u0301 au lait s'il vous plai\u0302t", "", browser("a")); err != nil {
		t.Errorf("StartLogin with the decomposed form: %v", err)
	}
	if _, err := e.a.StartLogin(t.Context(), testPhone, "cafe au lait s'il vous plait", "", browser("a")); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("StartLogin without accents: err = %v, want ErrInvalidCredentials", err)
	}
}
