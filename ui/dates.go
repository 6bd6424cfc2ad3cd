package ui

import (
	"strconv"
	"time"
)

// formatTime writes an instant for people, in the page's language and in UTC, saying so:
// "March 5, 2026, 2:05 PM UTC", "5 de marzo de 2026, 14:05 UTC". The month names, the order and
// the clock are catalog entries (month.1 … month.12, date.format, date.clock).
func formatTime(lang string, t time.Time) string {
	t = t.UTC()
	month := translate(lang, "month."+strconv.Itoa(int(t.Month())))
	clock := t.Format(translate(lang, "date.clock"))
	return translate(lang, "date.format", month, t.Day(), t.Year(), clock)
}

// timeText is an instant as the datetime attribute of a <time> element (RFC 3339, UTC) and as
// text in the page's language.
func timeText(lang string, t time.Time) (iso, text string) {
	return t.UTC().Format(time.RFC3339), formatTime(lang, t)
}
