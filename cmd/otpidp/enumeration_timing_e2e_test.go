package main

import (
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// twilioLatency is how slow the fake Twilio answers in the timing tests: a request that waited
// on it would stand out, every time.
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
// In one round of interleaved samples (the order alternating), the medians must be within
// 10 % of each other, or, on a machine whose load swings between requests, the median of the
// paired ratios (each pair runs back to back) within 10 % of 1. A round is repeated at most
// four times; before the outbox the known number's reset took 150 ms more, every time, and a
// taken number's registration in twilio-verify mode 150 ms less.
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
							for i := range timingSamples {
								pair := []struct {
									number string
									dst    *[]time.Duration
								}{{testPhone, &known}, {unknown, &none}}
								if i%2 == 1 {
									// The drainer sends the first request's text during the
									// second: alternate which goes first.
									pair[0], pair[1] = pair[1], pair[0]
								}
								for _, n := range pair {
									start := time.Now()
									r := step.do(n.number)
									*n.dst = append(*n.dst, time.Since(start))
									if r.url.Path != step.want {
										t.Fatalf("%s %s: %d %s", step.name, n.number, r.status, r.url)
									}
								}
							}
							mk, mu := median(known), median(none)
							paired := pairedRatio(known, none)
							ok = within10(float64(mk), float64(mu)) || within10(paired, 1)
							t.Logf("round %d: medians known %s, unknown %s; median of paired ratios %.3f", round+1, mk, mu, paired)
						}
						if !ok {
							t.Errorf("known and unknown numbers differ by more than 10 %%: medians %s and %s, median of paired ratios %.3f", median(known), median(none), pairedRatio(known, none))
						}
						// A reset costs no password hash: an answer that waited on Twilio would show.
						if step.name == "forgot" && max(median(known), median(none)) >= twilioLatency {
							t.Errorf("/forgot waited on Twilio: medians %s and %s", median(known), median(none))
						}
					})
				}
			})
		}
	}
}

// within10 reports whether a and b (positive) are within 10 % of the larger.
func within10(a, b float64) bool { return a > 0 && b > 0 && max(a, b)-min(a, b) <= 0.10*max(a, b) }

// pairedRatio is the median of known[i]/unknown[i]: the two requests of a pair run back to
// back, so the ratio cancels the machine's load, which moves far more between pairs than
// within one.
func pairedRatio(known, unknown []time.Duration) float64 {
	var rs []float64
	for i := range min(len(known), len(unknown)) {
		if unknown[i] > 0 {
			rs = append(rs, float64(known[i])/float64(unknown[i]))
		}
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
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
