package ui

import (
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, tt := range []struct {
		lang string
		t    time.Time
		want string
	}{
		{"en", time.Date(2026, time.March, 5, 14, 5, 59, 0, time.UTC), "March 5, 2026, 2:05 PM UTC"},
		{"en", time.Date(2026, time.December, 31, 0, 30, 0, 0, time.UTC), "December 31, 2026, 12:30 AM UTC"},
		{"es", time.Date(2026, time.March, 5, 14, 5, 0, 0, time.UTC), "5 de marzo de 2026, 14:05 UTC"},
		{"es", time.Date(2027, time.January, 1, 9, 0, 0, 0, time.UTC), "1 de enero de 2027, 09:00 UTC"},
		// Another zone is shown in UTC: 23:30 in New York on the 4th is 04:30 UTC on the 5th.
		{"en", time.Date(2026, time.March, 4, 23, 30, 0, 0, ny), "March 5, 2026, 4:30 AM UTC"},
		{"es", time.Date(2026, time.March, 4, 23, 30, 0, 0, ny), "5 de marzo de 2026, 04:30 UTC"},
		// A language without a catalog falls back to English.
		{"fr", time.Date(2026, time.July, 14, 12, 0, 0, 0, time.UTC), "July 14, 2026, 12:00 PM UTC"},
	} {
		if got := formatTime(tt.lang, tt.t); got != tt.want {
			t.Errorf("formatTime(%s, %v) = %q, want %q", tt.lang, tt.t, got, tt.want)
		}
	}
	iso, text := timeText("es", time.Date(2026, time.March, 4, 23, 30, 0, 0, ny))
	if iso != "2026-03-05T04:30:00Z" || text != "5 de marzo de 2026, 04:30 UTC" {
		t.Errorf("timeText = %q, %q", iso, text)
	}
}
