package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// The SMS settings beyond the three of Twilio's tutorials (TWILIO_ACCOUNT_SID,
// TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER), which config.go reads.
const (
	envTwilioAPIKey           = "TWILIO_API_KEY"
	envTwilioAPISecret        = "TWILIO_API_SECRET"
	envTwilioMessagingService = "TWILIO_MESSAGING_SERVICE_SID"
	envTwilioVerifyService    = "TWILIO_VERIFY_SERVICE_SID"
	envTwilioStatusCallback   = "OTPIDP_TWILIO_STATUS_CALLBACK"
	envSMSTimeout             = "OTPIDP_SMS_TIMEOUT"
	envSMSTemplate            = "OTPIDP_SMS_TEMPLATE"

	smsTwilioVerify = "twilio-verify"
	maxSMSTimeout   = 30 * time.Second
)

// smsConfigKeys are the keys of smsconfig.go, for configKeys.
func smsConfigKeys() []string {
	return []string{
		envTwilioAPIKey, envTwilioAPISecret, envTwilioMessagingService, envTwilioVerifyService,
		envSMSTimeout, envTwilioStatusCallback, envSMSTemplate,
	}
}

// resolveSMSConfig reads the SMS settings of smsconfig.go into c and returns the values it
// cannot parse.
func resolveSMSConfig(c *Config, lookup func(string) (string, bool)) []string {
	var problems []string
	get := func(key string) string { v, _ := lookup(key); return v }
	c.TwilioAPIKey = get(envTwilioAPIKey)
	c.TwilioAPISecret = get(envTwilioAPISecret)
	c.TwilioMessagingServiceSID = get(envTwilioMessagingService)
	c.TwilioVerifyServiceSID = get(envTwilioVerifyService)
	c.SMSTemplate = get(envSMSTemplate)
	if v, ok := lookup(envSMSTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: must be a duration such as 3s or 1500ms", envSMSTimeout, v))
		}
		c.SMSTimeout = d
	}
	if v, ok := lookup(envTwilioStatusCallback); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: must be true or false", envTwilioStatusCallback, v))
		}
		c.TwilioStatusCallback = b
	}
	return problems
}

// defaultSMS is the sender when OTPIDP_SMS is not set but TWILIO_ACCOUNT_SID is: Twilio
// Verify when only a Verify service is named, else the Messages API.
func defaultSMS(c *Config) string {
	if c.TwilioVerifyServiceSID != "" && c.TwilioPhoneNumber == "" && c.TwilioMessagingServiceSID == "" {
		return smsTwilioVerify
	}
	return smsTwilio
}

// smsProblems lists what is wrong with the SMS settings. Only presence and shape are checked
// here; sms.NewTwilio checks the SIDs' format when serve starts.
func (c *Config) smsProblems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	switch c.SMS {
	case smsTwilio, smsTwilioVerify:
		if c.TwilioAccountSID == "" {
			add("%s is required to send SMS with Twilio", envTwilioSID)
		}
		switch {
		case c.TwilioAPIKey != "" || c.TwilioAPISecret != "":
			if c.TwilioAPIKey == "" {
				add("%s is required with %s", envTwilioAPIKey, envTwilioAPISecret)
			}
			if c.TwilioAPISecret == "" {
				add("%s is required with %s", envTwilioAPISecret, envTwilioAPIKey)
			}
		case c.TwilioAuthToken == "":
			add("%s is required to send SMS with Twilio (or %s and %s)", envTwilioToken, envTwilioAPIKey, envTwilioAPISecret)
		}
		if c.SMS == smsTwilio {
			switch {
			case c.TwilioPhoneNumber == "" && c.TwilioMessagingServiceSID == "":
				add("%s is required to send SMS with Twilio (or %s)", envTwilioPhone, envTwilioMessagingService)
			case c.TwilioPhoneNumber != "" && c.TwilioMessagingServiceSID != "":
				add("set %s or %s, not both", envTwilioPhone, envTwilioMessagingService)
			case c.TwilioPhoneNumber != "" && !isE164(c.TwilioPhoneNumber):
				add("%s=%q: must be in E.164 form, like +15551234567", envTwilioPhone, c.TwilioPhoneNumber)
			case c.TwilioMessagingServiceSID != "" && !strings.HasPrefix(c.TwilioMessagingServiceSID, "MG"):
				add("%s=%q: must start with MG", envTwilioMessagingService, c.TwilioMessagingServiceSID)
			}
		} else {
			switch {
			case c.TwilioVerifyServiceSID == "":
				add("%s is required with %s=%s", envTwilioVerifyService, envSMS, smsTwilioVerify)
			case !strings.HasPrefix(c.TwilioVerifyServiceSID, "VA"):
				add("%s=%q: must start with VA", envTwilioVerifyService, c.TwilioVerifyServiceSID)
			}
		}
	case smsConsole:
		// The console sender prints codes: a deployment that is not in development mode must
		// ask for it by name, so that a forgotten Twilio setting never sends codes to a log.
		if !c.Dev && !c.SMSExplicit {
			add("no SMS provider is configured: set %s, %s and %s (or %s=console to print codes to the console, for testing only)",
				envTwilioSID, envTwilioToken, envTwilioPhone, envSMS)
		}
	default:
		add("%s=%q: must be console, twilio or twilio-verify", envSMS, c.SMS)
	}
	if c.TwilioStatusCallback {
		switch {
		case c.SMS != smsTwilio:
			add("%s=true needs %s=twilio: only the Messages API reports delivery status", envTwilioStatusCallback, envSMS)
		case c.TwilioAuthToken == "":
			add("%s=true needs %s: Twilio signs its callbacks with the auth token, also when otpidp sends with an API key", envTwilioStatusCallback, envTwilioToken)
		}
	}
	if c.SMSTimeout < 0 || c.SMSTimeout > maxSMSTimeout {
		add("%s=%s: must be more than 0 and at most %s", envSMSTimeout, c.SMSTimeout, maxSMSTimeout)
	}
	if c.SMSTemplate != "" {
		if err := sms.ValidateTemplate(c.SMSTemplate); err != nil {
			add("%s: %v", envSMSTemplate, strings.TrimPrefix(err.Error(), "sms: "))
		}
	}
	return p
}

// twilioConfig is the sender configuration of a twilio or twilio-verify Config: the API key
// when there is one (TWILIO_AUTH_TOKEN then only checks the status callbacks' signatures),
// the delivery journal on store, and the status callback URL when asked for.
func twilioConfig(c Config, store storage.SMSMessages, logger *slog.Logger) sms.TwilioConfig {
	tc := sms.TwilioConfig{
		AccountSID: c.TwilioAccountSID,
		APIURL:     c.TwilioAPIURL,
		Timeout:    c.SMSTimeout,
		Journal:    store,
		Logger:     logger,
	}
	if c.TwilioAPIKey != "" {
		tc.APIKey, tc.APISecret = c.TwilioAPIKey, c.TwilioAPISecret
	} else {
		tc.AuthToken = c.TwilioAuthToken
	}
	switch c.SMS {
	case smsTwilio:
		tc.From, tc.MessagingServiceSID = c.TwilioPhoneNumber, c.TwilioMessagingServiceSID
		if c.TwilioStatusCallback {
			tc.StatusCallback = c.Issuer + sms.StatusCallbackPath
		}
	case smsTwilioVerify:
		tc.VerifyServiceSID = c.TwilioVerifyServiceSID
	}
	return tc
}

// smsLogAttrs are the SMS settings as logged at start: no secret.
func (c Config) smsLogAttrs() []any {
	attrs := []any{slog.String("sms", c.SMS)}
	if c.SMS == smsTwilio || c.SMS == smsTwilioVerify {
		cred := "auth_token"
		if c.TwilioAPIKey != "" {
			cred = "api_key"
		}
		attrs = append(attrs, slog.String("twilio_credentials", cred), slog.Bool("twilio_status_callback", c.TwilioStatusCallback),
			slog.Bool("sms_template", c.SMSTemplate != ""))
		if c.SMSTimeout != 0 {
			attrs = append(attrs, slog.Duration("sms_timeout", c.SMSTimeout))
		}
	}
	return attrs
}
