package main

import (
	"github.com/otpidp/otpidp/provider/auth"
)

// relaxedAbuse lifts the limits that the end-to-end tests, which sign one number in many times
// from one address, would trip; the abuse tests set the limits they test.
func relaxedAbuse() AbuseConfig {
	off := auth.Rate{Max: -1, Per: 1}
	return AbuseConfig{Auth: auth.Limits{
		LoginThrottleAfter: 1000, LoginPerIP: off,
		SMSPhoneHourly: off, SMSPhoneDaily: off, SMSIPHourly: off, SMSPrefixHourly: off,
	}}
}
