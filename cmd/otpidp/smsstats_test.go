package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func TestSMSStatsCommand(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("", "sms", "stats"); !strings.Contains(out, "None.") {
		t.Fatalf("sms stats on an empty database = %q", out)
	}

	store, err := openMigratedStore(t.Context(), c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, m := range []struct {
		country, status string
		age             time.Duration
	}{
		{"US", "delivered", time.Hour},
		{"US", "delivered", time.Hour},
		{"US", "undelivered", time.Hour},
		{"US", "queued", time.Hour},
		{"GB", "delivered", time.Hour},
		{"GB", storage.SMSStatusNotSent, time.Hour},
		{"", storage.SMSStatusUnknown, time.Hour},
		{"US", "failed", 48 * time.Hour}, // outside the default day
	} {
		key := string(rune('a' + i))
		created := now.Add(-m.age)
		if err := store.ClaimSMSMessage(t.Context(), storage.SMSMessage{Key: key, Provider: "twilio", Status: storage.SMSStatusClaimed, Country: m.country, CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		if err := store.FinishSMSMessage(t.Context(), key, "SM"+key, m.status, 0, created); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	out := c.ok("", "sms", "stats")
	for _, want := range []string{
		"COUNTRY  MESSAGES  DELIVERED  FAILED  NOT SENT  UNKNOWN  PENDING  DELIVERY RATE",
		"     GB         2          1       0         1        0        0          50.0%",
		"     US         4          2       1         0        0        1          50.0%",
		"unknown         1          0       0         0        1        0           0.0%",
		"    all         7          3       1         1        1        1          42.9%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sms stats lacks %q:\n%s", want, out)
		}
	}

	var got struct {
		Countries []smsCounts `json:"countries"`
		Total     smsCounts   `json:"total"`
	}
	if err := json.Unmarshal([]byte(c.ok("", "sms", "stats", "--json", "--since", "72h")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Countries) != 3 || got.Total.Messages != 8 || got.Total.Failed != 2 || got.Total.DeliveryRate == nil || *got.Total.DeliveryRate != 3.0/8 {
		t.Fatalf("sms stats --json --since 72h = %+v", got)
	}

	for _, args := range [][]string{{"sms"}, {"sms", "stats", "--since", "-1h"}, {"sms", "stats", "extra"}, {"sms", "send"}} {
		r := c.run("", args...)
		var ue *usageError
		if !errors.As(r.err, &ue) {
			t.Errorf("otpidp %s: err = %v, want a usage error", strings.Join(args, " "), r.err)
		}
	}
}
