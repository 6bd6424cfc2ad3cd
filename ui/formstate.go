package ui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// Post/Redirect/Get, errors included: every POST of the pages answers 303 See Other, so that
// Back and Reload only ever repeat a GET and a browser never asks to resubmit a form.
//
// A refused form leaves its state — the messages beside each field and at the top, the HTTP
// status (and Retry-After) the page is served with, the field to focus — in a short-lived
// cookie sealed with AES-GCM under a key every instance shares (no process-local state), and
// the GET page that shows the form again reads it. The state names the form and the flow or
// authorization request it belongs to, so one form's errors never show on another.
//
// The same cookie keeps the values typed that are not secrets (name, phone number, device
// code) so that "Wrong number? Go back", the sign-in after a reset and every later form of the
// visit are filled in again. Passwords, texted codes and recovery codes are never kept, never
// rendered back and never put in a URL; the one exception is a reset's texted code that the
// server found right while the recovery code was wrong: it stays sealed in the cookie, bound
// to its flow, is never shown, and is used again with the next recovery code (reset.go).
// A message page reached from a POST (an expired form, a step that has to start again, a
// device decision) is the same: the POST keeps the message and answers 303 to /message.

// formTTL is how long the state of the forms is kept.
const formTTL = 30 * time.Minute

// maxKept is the longest value typed that is kept (longer ones are refused anyway).
const maxKept = 256

// fieldError is one field's message, in the order of the form.
type fieldError struct {
	Field string `json:"f"`
	Msg   string `json:"m"`
}

// formState is what the form cookie holds.
type formState struct {
	Form      string            `json:"f,omitempty"` // the form the errors belong to
	Key       string            `json:"k,omitempty"` // its flow or authorization request ("" for none)
	Status    int               `json:"s,omitempty"`
	Retry     string            `json:"r,omitempty"` // Retry-After of the refusal
	FormError string            `json:"g,omitempty"`
	ErrorFor  []string          `json:"t,omitempty"` // the fields FormError is about
	Errors    []fieldError      `json:"e,omitempty"`
	Focus     string            `json:"o,omitempty"`
	Message   *messageState     `json:"m,omitempty"`
	Values    map[string]string `json:"v,omitempty"` // kept values by field name
	Secret    *keptSecret       `json:"x,omitempty"`
	Logout    map[string]string `json:"l,omitempty"` // a relying party's end_session POST, kept for its GET (logout.go)
}

// messageState is a message page a POST leads to.
type messageState struct {
	Title, Text, Reference, LinkURL, LinkText string
}

// keptSecret is a reset's texted code that was right (reset.go), bound to its flow.
type keptSecret struct {
	Flow string `json:"f"`
	Code string `json:"c"`
}

func (u *UI) formAEAD() (cipher.AEAD, error) {
	block, err := aes.NewCipher(u.formKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// formCookie is the form state's cookie name.
func (u *UI) formCookie() string {
	if u.cfg.Secure {
		return "__Host-otpidp-form"
	}
	return "otpidp-form"
}

// loadForm opens the request's form state; the zero state when there is none or it does not
// open.
func (u *UI) loadForm(r *http.Request) formState {
	var st formState
	c, err := r.Cookie(u.formCookie())
	if err != nil || len(c.Value) > 4000 {
		return st
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return st
	}
	g, err := u.formAEAD()
	if err != nil || len(sealed) < g.NonceSize() {
		return st
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(u.formCookie()))
	if err != nil || json.Unmarshal(plain, &st) != nil {
		return formState{}
	}
	return st
}

// saveForm seals st into the form cookie.
func (u *UI) saveForm(w http.ResponseWriter, st formState) {
	plain, err := json.Marshal(st)
	if err != nil {
		return
	}
	g, err := u.formAEAD()
	if err != nil {
		return
	}
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	v := base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, plain, []byte(u.formCookie())))
	if len(v) > 4000 { // too much to keep: keep nothing rather than lose the cookie silently
		st.Values, st.Errors = nil, st.Errors[:min(len(st.Errors), 1)]
		if plain, err = json.Marshal(st); err != nil {
			return
		}
		v = base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, plain, []byte(u.formCookie())))
	}
	http.SetCookie(w, u.cookie(u.formCookie(), v, formTTL))
}

// clearForm forgets the form state (signing out).
func (u *UI) clearForm(w http.ResponseWriter) {
	http.SetCookie(w, u.cookie(u.formCookie(), "", -time.Second))
}

// keepValues merges the values typed into st (empty values are not kept; too long ones
// replace nothing).
func (st *formState) keepValues(values map[string]string) {
	for k, v := range values {
		if v == "" || len(v) > maxKept {
			continue
		}
		if st.Values == nil {
			st.Values = map[string]string{}
		}
		st.Values[k] = v
	}
}

// accepted ends a successful POST: the form's errors are forgotten, the values typed kept.
func (u *UI) accepted(w http.ResponseWriter, r *http.Request, values map[string]string) {
	st := u.loadForm(r)
	st.Form, st.Key, st.Status, st.Retry, st.FormError, st.Errors, st.Focus, st.Message = "", "", 0, "", "", nil, "", nil
	st.ErrorFor, st.Secret, st.Logout = nil, nil, nil
	st.keepValues(values)
	u.saveForm(w, st)
}

// refuse ends a refused POST: it keeps the page's errors and status for the form (of key) and
// the values typed, and sends the browser to target, the GET page that shows the form again.
// edit, when given, changes the state further before it is kept.
func (u *UI) refuse(w http.ResponseWriter, r *http.Request, target, form, key string, p page, status int, values map[string]string, edit ...func(*formState)) {
	st := u.loadForm(r)
	for _, e := range edit {
		e(&st)
	}
	st.Form, st.Key, st.Status, st.Message, st.Logout = form, key, status, nil, nil
	st.Retry = w.Header().Get("Retry-After")
	st.FormError, st.ErrorFor, st.Errors, st.Focus = p.FormError, p.ErrorFor, p.errs, p.Focus
	st.keepValues(values)
	u.saveForm(w, st)
	seeOther(w, r, target)
}

// shown puts the errors a refused POST left for this form (of key) on the page, sets
// Retry-After, and returns the status to serve the page with.
func (p *page) shown(w http.ResponseWriter, st formState, form, key string) int {
	if st.Form != form || st.Key != key || st.Message != nil {
		return http.StatusOK
	}
	p.FormError, p.ErrorFor = st.FormError, st.ErrorFor
	p.errs, p.Errors = nil, nil
	for _, e := range st.Errors {
		p.fail(e.Field, e.Msg)
	}
	if st.Focus != "" {
		p.Focus = st.Focus
	}
	if st.Retry != "" {
		w.Header().Set("Retry-After", st.Retry)
	}
	if st.Status < 400 || st.Status > 599 {
		return http.StatusOK
	}
	return st.Status
}

// MessagePage shows the message a POST led to (GET /message); without one, the not-found page.
func (u *UI) MessagePage(w http.ResponseWriter, r *http.Request) {
	st := u.loadForm(r)
	if st.Form != "message" || st.Message == nil {
		u.NotFoundPage(w, r)
		return
	}
	status := st.Status
	if status < 200 || status > 599 {
		status = http.StatusOK
	}
	m := st.Message
	if st.Retry != "" {
		w.Header().Set("Retry-After", st.Retry)
	}
	u.render(w, r, status, "message", messagePage{page: u.base(r, "", nil), Title: m.Title, Message: m.Text,
		Reference: m.Reference, LinkURL: m.LinkURL, LinkText: m.LinkText})
}
