package auth

import (
	"regexp"
	"testing"

	"github.com/otpidp/otpidp/provider/outbox"
)

// TestQueuedTexts: with an outbox, a reset or registration answers without handing anything to
// the sender; the drainer sends the text after the answer (a code, or a notice for a number
// without an account), never while SMS are paused; sign-in codes are still sent at once.
func TestQueuedTexts(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e, _, codes := resetEnvOn(t, newEnv())
		ctx := t.Context()
		q, err := outbox.NewQueue(ctx, e.store, e.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		e.a.queue = q
		d := outbox.NewDrainer(q, outbox.Config{Now: e.clock.Now})
		d.Handle(OutboxKindSMS, e.a.SendQueued)

		sent := e.sms.count()
		v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.StartReset(ctx, "+14155550199", "", browser("b")); err != nil {
			t.Fatal(err)
		}
		if e.sms.count() != sent {
			t.Fatal("a reset handed its text to the sender during the request")
		}
		if err := d.Settle(ctx); err != nil {
			t.Fatal(err)
		}
		if e.sms.count() != sent+2 {
			t.Fatalf("%d texts after the drain, want 2 (a code, a notice)", e.sms.count()-sent)
		}
		if err := e.a.VerifyReset(ctx, v.ID, browser("a"), codeTo(t, e.sms, testPhone), codes[0]); err != nil {
			t.Fatalf("the queued code: %v", err)
		}

		// Paused after the answer: the queued text is not sent.
		if _, err := e.a.StartRegistration(ctx, testName, "+14155550142", testPassword, "", browser("c")); err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetSwitch(ctx, SwitchSMSPaused, true, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		sent = e.sms.count()
		if err := d.Settle(ctx); err != nil {
			t.Fatal(err)
		}
		if e.sms.count() != sent {
			t.Fatal("a queued text went out while SMS were paused")
		}
		if err := e.store.SetSwitch(ctx, SwitchSMSPaused, false, e.clock.Now()); err != nil {
			t.Fatal(err)
		}

		// Sign-in codes do not wait for the drainer.
		sent = e.sms.count()
		if v, err := e.a.StartLogin(ctx, testPhone, testPassword, "", browser("d")); err != nil || v.TextNotSent || e.sms.count() != sent+1 {
			t.Fatalf("sign-in with an outbox: %+v, %v, %d texts", v, err, e.sms.count()-sent)
		}
	})
}

// codeTo is the code of the newest message to the number.
func codeTo(t *testing.T, r *recorder, to string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if r.msgs[i].To == to {
			if m := regexp.MustCompile(`#(\d{6})$`).FindStringSubmatch(r.msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code texted to %s", to)
	return ""
}
