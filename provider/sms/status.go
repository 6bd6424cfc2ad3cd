package sms

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/otpidp/otpidp/storage"
)

// StatusCallbackPath is where otpidp receives Twilio's delivery reports; the URL given to
// Twilio with each message is the issuer followed by this path.
const StatusCallbackPath = "/twilio/status"

// maxCallbackBytes bounds a status callback's body; Twilio's are well under 2 KB.
const maxCallbackBytes = 16 << 10

// twilioStatuses are the message statuses Twilio reports.
var twilioStatuses = map[string]bool{
	"accepted": true, "scheduled": true, "queued": true, "sending": true, "sent": true,
	"delivered": true, "undelivered": true, "failed": true, "read": true, "canceled": true,
	"partially_delivered": true,
}

// StatusHandler receives Twilio's message status callbacks (POST, form-encoded) and records
// each message's delivery status in the journal, so operators can see delivery rates
// (otpidp sms stats). A request is accepted only when its X-Twilio-Signature is Twilio's
// signature of URL and the form under AuthToken, and it names Account; anything else is
// refused with 403 and recorded nowhere. Logs name the message SID and status, never the
// numbers the callback carries.
type StatusHandler struct {
	Journal   storage.SMSMessages
	AuthToken string // the account's auth token: Twilio signs callbacks with it, even for API-key requests
	Account   string // the account SID ("AC…") the callbacks must be for
	URL       string // the StatusCallback URL exactly as given to Twilio
	Now       func() time.Time
	Logger    *slog.Logger
}

// ServeHTTP handles one callback: 204 when recorded (or about a message otpidp does not know,
// or a late report that would move a message back), 403 when not Twilio's, 400 when malformed.
func (h *StatusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBytes))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusBadRequest)
		return
	}
	sig := r.Header.Get("X-Twilio-Signature")
	v := client.NewRequestValidator(h.AuthToken)
	form, perr := url.ParseQuery(string(body))
	if sig == "" || h.AuthToken == "" || perr != nil || !v.ValidateBody(h.URL, body, sig) || form.Get("AccountSid") != h.Account {
		h.Logger.WarnContext(ctx, "Twilio status callback refused: missing or wrong signature", "signed", sig != "")
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	sid, status := form.Get("MessageSid"), form.Get("MessageStatus")
	code := 0
	if c := form.Get("ErrorCode"); c != "" {
		code, err = strconv.Atoi(c)
		if err != nil || code < 0 {
			http.Error(w, "bad ErrorCode", http.StatusBadRequest)
			return
		}
	}
	if sid == "" || len(sid) > 64 || !isAlnum(sid) || !twilioStatuses[status] {
		http.Error(w, "MessageSid and a known MessageStatus are required", http.StatusBadRequest)
		return
	}
	err = h.Journal.UpdateSMSStatus(ctx, sid, status, code, h.Now().UTC())
	switch {
	case err == nil:
		h.Logger.InfoContext(ctx, "SMS delivery report", "sid", sid, "status", status, "error_code", code)
	case errors.Is(err, storage.ErrConflict):
		h.Logger.DebugContext(ctx, "SMS delivery report arrived late; kept the later status", "sid", sid, "status", status)
	case errors.Is(err, storage.ErrNotFound):
		h.Logger.InfoContext(ctx, "SMS delivery report for a message otpidp has no record of", "sid", sid, "status", status)
	default:
		h.Logger.ErrorContext(ctx, "SMS delivery report not recorded", "sid", sid, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError) // Twilio may try again
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
