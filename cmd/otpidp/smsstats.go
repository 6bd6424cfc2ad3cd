package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const smsStatsUsage = `Usage: otpidp sms stats [FLAGS]

Show how the text messages otpidp sent since a moment fared, per country of the number:
delivered (Twilio's delivery reports; they need OTPIDP_TWILIO_STATUS_CALLBACK=true), failed
(undelivered or failed), not sent (Twilio refused them: invalid numbers, landlines, throttling),
unknown (no answer from Twilio, or the process stopped while sending) and pending (accepted,
no final report yet; every Verify message stays so). The delivery rate is delivered divided by
messages. Records hold no message text and no phone number; they are kept 90 days.

Flags:
`

// smsCounts is the delivery of the messages of one country (or all of them).
type smsCounts struct {
	Country      string   `json:"country"` // "" in the total
	Messages     int      `json:"messages"`
	Delivered    int      `json:"delivered"`
	Failed       int      `json:"failed"`
	NotSent      int      `json:"not_sent"`
	Unknown      int      `json:"unknown"`
	Pending      int      `json:"pending"`
	DeliveryRate *float64 `json:"delivery_rate"` // null when there are no messages
}

func (c *smsCounts) add(status string, n int) {
	c.Messages += n
	switch status {
	case "delivered", "read":
		c.Delivered += n
	case "undelivered", "failed":
		c.Failed += n
	case storage.SMSStatusNotSent:
		c.NotSent += n
	case storage.SMSStatusUnknown, storage.SMSStatusClaimed:
		c.Unknown += n
	default:
		c.Pending += n
	}
}

func (c *smsCounts) rate() {
	if c.Messages > 0 {
		r := float64(c.Delivered) / float64(c.Messages)
		c.DeliveryRate = &r
	}
}

// summarizeSMS folds the store's counts per country and status into one row per country,
// in the store's order, and a total.
func summarizeSMS(stats []storage.SMSStat) ([]smsCounts, smsCounts) {
	var rows []smsCounts
	var total smsCounts
	for _, st := range stats {
		if len(rows) == 0 || rows[len(rows)-1].Country != st.Country {
			rows = append(rows, smsCounts{Country: st.Country})
		}
		rows[len(rows)-1].add(st.Status, st.Count)
		total.add(st.Status, st.Count)
	}
	for i := range rows {
		rows[i].rate()
	}
	total.rate()
	return rows, total
}

func runSMSStats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sms stats", smsStatsUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	since := fs.String("since", "24h", "count the messages sent since then: "+sinceHelp)
	asJSON := fs.Bool("json", false, "print the counts as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "sms stats: unexpected argument %q", fs.Arg(0))
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return flagUsageFailure(fs, "sms stats: --since %q: %v", *since, err)
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	stats, err := store.SMSStats(ctx, from)
	if err != nil {
		return fmt.Errorf("sms stats: %w", err)
	}
	rows, total := summarizeSMS(stats)

	if *asJSON {
		if rows == nil {
			rows = []smsCounts{}
		}
		return writeJSON(stdout, struct {
			Since     time.Time   `json:"since"`
			Countries []smsCounts `json:"countries"`
			Total     smsCounts   `json:"total"`
		}{from, rows, total})
	}
	fmt.Fprintf(stdout, "Text messages since %s:\n\n", from.Format(time.RFC3339))
	if total.Messages == 0 {
		fmt.Fprintln(stdout, "None.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "COUNTRY\tMESSAGES\tDELIVERED\tFAILED\tNOT SENT\tUNKNOWN\tPENDING\tDELIVERY RATE\t")
	line := func(label string, r smsCounts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t\n", label, r.Messages, r.Delivered, r.Failed,
			r.NotSent, r.Unknown, r.Pending, 100**r.DeliveryRate)
	}
	for _, r := range rows {
		label := r.Country
		if label == "" {
			label = "unknown"
		}
		line(label, r)
	}
	line("all", total)
	return tw.Flush()
}
