package main

import (
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// twilioLatency is how slow the fake Twilio answers in the timing tests: slow enough that a
// request that waited on it would stand out by two orders of magnitude.
const twilioLatency = 150 * time.Millisecond

// timingSamples is how many requests of each kind one round times; a round is repeated up to
// timingRounds times on a noisy machine (a systematic difference fails every round).
const (
	timingSamples = 31
	timingRounds  = 5
)

// TestNoTimingOrCountDifference: "Forgot your password?" and registration take the same time
// for a number with an account as for one without, against a Twilio that answers after
// 150 ms, in both SMS modes, and make the same requests at Twilio. The answers are decided and
// the texts queued in the outbox; the drainer sends them after the answer (RST-01, REG-01).
// The medians of interleaved samples must be within 10 % of each other (a round is repeated
// on a noisy machine; before the outbox the known number's reset took 150 ms more, every
// time).
func TestNoTimingOrCountDifference(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	const unknown = "+14155552672"
	for name, open := range stores(t) {
		for _, mode := range []string{smsTwilio, smsTwilioVerify} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				s := startTwilioServer(t, open(t), mode, func(c *Config) {
					off := auth.Rate{Max: -1, Per: time.Hour}
					c.Abuse = AbuseConfig{Auth: auth.Limits{
						SMSPhoneHourly: off, SMSPhoneDaily: off, SMSIPHourly: off, SMSPrefixHourly: off,
						SMSCountryDaily: off, SMSGlobalHourly: off, SMSGlobalDaily: off,
					}}
				})
				addUser(t, s.store, testPhone, testPassword)
				s.fake.SetLatency(twilioLatency)

				forgot := func(number string) response {
					b := newBrowser(t)
					page := b.get(s.issuer + "/forgot")
					return b.submit(page, "/forgot", map[string]string{"phone": number})
				}
				register := func(number string) response {
					b := newBrowser(t)
					page := b.get(s.issuer + "/register")
					return b.submit(page, "/register", map[string]string{"name": "Ada Lovelace", "phone": number, "password": "correct horse battery staple"})
				}
				for _, step := range []struct {
					name string
					do   func(number string) response
					want string // the page both answers land on
				}{{"forgot", forgot, "/forgot/verify"}, {"register", register, "/code"}} {
					t.Run(step.name, func(t *testing.T) {
						// The same requests at Twilio: each request's texts, sent by the drainer.
						s.sms.settle()
						reqs := map[string]int{}
						for range 3 {
							for _, number := range []string{testPhone, unknown} {
								before := s.fake.Requests()
								if r := step.do(number); r.url.Path != step.want {
									t.Fatalf("%s %s: %d %s", step.name, number, r.status, r.url)
								}
								s.sms.settle()
								reqs[number] += s.fake.Requests() - before
							}
						}
						if reqs[testPhone] != reqs[unknown] || reqs[testPhone] == 0 {
							t.Errorf("requests at Twilio: %d for the number with an account, %d for the other; want the same", reqs[testPhone], reqs[unknown])
						}
						// The same time: interleaved samples, the drainer sending meanwhile.
						var known, none []time.Duration
						ok := false
						for round := 0; round < timingRounds && !ok; round++ {
							known, none = nil, nil
							for range timingSamples {
								for _, n := range []struct {
									number string
									dst    *[]time.Duration
								}{{testPhone, &known}, {unknown, &none}} {
									start := time.Now()
									r := step.do(n.number)
									*n.dst = append(*n.dst, time.Since(start))
									if r.url.Path != step.want {
										t.Fatalf("%s %s: %d %s", step.name, n.number, r.status, r.url)
									}
								}
							}
							mk, mu := median(known), median(none)
							ok = mk > 0 && mu > 0 && float64(max(mk, mu)-min(mk, mu)) <= 0.10*float64(max(mk, mu))
							t.Logf("round %d: medians known %s, unknown %s", round+1, mk, mu)
						}
						if !ok {
							t.Errorf("medians differ by more than 10 %%: known %s, unknown %s", median(known), median(none))
						}
						if mk := median(known); mk >= twilioLatency {
							t.Errorf("the answer waited on Twilio: median %s", mk)
						}
					})
				}
			})
		}
	}
}

// median is the middle of the durations (the mean of the two middle ones for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
