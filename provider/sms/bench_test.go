package sms_test

import (
	"strconv"
	"testing"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
)

// BenchmarkTwilioSend is one message through twilio-go to the fake Twilio on loopback, without
// and with the journal (an SQLite claim before, and a record after, each send).
func BenchmarkTwilioSend(b *testing.B) {
	for _, journaled := range []bool{false, true} {
		b.Run("journal="+strconv.FormatBool(journaled), func(b *testing.B) {
			fake := twiliotest.New(b)
			cfg := sms.TwilioConfig{AccountSID: testAccount, AuthToken: testToken, From: testFrom, APIURL: fake.URL()}
			if journaled {
				cfg.Journal = openJournalB(b)
			}
			s, err := sms.NewTwilio(cfg)
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				i++
				if err := s.Send(b.Context(), sms.Message{To: testTo, Body: testBody, Key: "bench/" + strconv.Itoa(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
