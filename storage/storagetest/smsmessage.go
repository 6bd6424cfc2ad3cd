package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func smsMessageTests() []subtest {
	claim := func(key, country string, created time.Time) storage.SMSMessage {
		return storage.SMSMessage{Key: key, Provider: "twilio", Status: storage.SMSStatusClaimed, Country: country, CreatedAt: created, UpdatedAt: created}
	}
	return []subtest{
		{"SMSMessage/ClaimOnce", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			m := claim("k1", "US", at(0))
			mustOK(t, "ClaimSMSMessage", s.ClaimSMSMessage(ctx, m))
			got, err := s.GetSMSMessage(ctx, "k1")
			mustOK(t, "GetSMSMessage", err)
			same(t, "claimed message", m, got)

			again := claim("k1", "DE", at(time.Minute))
			wantErr(t, "ClaimSMSMessage same key", s.ClaimSMSMessage(ctx, again), storage.ErrAlreadyExists)
			got, err = s.GetSMSMessage(ctx, "k1")
			mustOK(t, "GetSMSMessage after refused claim", err)
			same(t, "message after a refused claim", m, got)

			_, err = s.GetSMSMessage(ctx, "nope")
			wantErr(t, "GetSMSMessage unknown", err, storage.ErrNotFound)
		}},
		{"SMSMessage/ConcurrentClaims", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			const n = 20
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { errs[i] = s.ClaimSMSMessage(ctx, claim("race", "US", at(0))) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					wantErr(t, "losing claim", err, storage.ErrAlreadyExists)
				}
			}
			if won != 1 {
				t.Fatalf("%d of %d concurrent claims of one key won, want exactly 1", won, n)
			}
		}},
		{"SMSMessage/FinishAndReports", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			mustOK(t, "ClaimSMSMessage", s.ClaimSMSMessage(ctx, claim("k1", "US", at(0))))
			wantErr(t, "FinishSMSMessage unknown key", s.FinishSMSMessage(ctx, "nope", "SM1", "queued", 0, at(time.Second)), storage.ErrNotFound)
			mustOK(t, "FinishSMSMessage", s.FinishSMSMessage(ctx, "k1", "SM1", "queued", 0, at(time.Second)))
			got, err := s.GetSMSMessage(ctx, "k1")
			mustOK(t, "GetSMSMessage", err)
			want := storage.SMSMessage{Key: "k1", Provider: "twilio", SID: "SM1", Status: "queued", Country: "US", CreatedAt: at(0), UpdatedAt: at(time.Second)}
			same(t, "finished message", want, got)

			// Reports move forward; a late one that would move back is refused.
			mustOK(t, "UpdateSMSStatus sent", s.UpdateSMSStatus(ctx, "SM1", "sent", 0, at(2*time.Second)))
			mustOK(t, "UpdateSMSStatus undelivered", s.UpdateSMSStatus(ctx, "SM1", "undelivered", 30003, at(3*time.Second)))
			wantErr(t, "UpdateSMSStatus late sent", s.UpdateSMSStatus(ctx, "SM1", "sent", 0, at(4*time.Second)), storage.ErrConflict)
			got, err = s.GetSMSMessage(ctx, "k1")
			mustOK(t, "GetSMSMessage", err)
			want.Status, want.ErrorCode, want.UpdatedAt = "undelivered", 30003, at(3*time.Second)
			same(t, "message after reports", want, got)

			wantErr(t, "UpdateSMSStatus unknown SID", s.UpdateSMSStatus(ctx, "SM404", "delivered", 0, at(time.Second)), storage.ErrNotFound)
			// A claimed message has no SID yet: an empty SID matches nothing.
			mustOK(t, "ClaimSMSMessage k2", s.ClaimSMSMessage(ctx, claim("k2", "US", at(0))))
			wantErr(t, "UpdateSMSStatus empty SID", s.UpdateSMSStatus(ctx, "", "delivered", 0, at(time.Second)), storage.ErrNotFound)
			got, err = s.GetSMSMessage(ctx, "k2")
			mustOK(t, "GetSMSMessage k2", err)
			if got.Status != storage.SMSStatusClaimed {
				t.Fatalf("a report with an empty SID changed a claimed message: %+v", got)
			}
		}},
		{"SMSMessage/StatsAndRetention", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			for i, c := range []struct {
				key, country, status string
				created              time.Duration
			}{
				{"a", "US", "delivered", 0},
				{"b", "US", "delivered", time.Minute},
				{"c", "US", "undelivered", time.Minute},
				{"d", "DE", "delivered", time.Minute},
				{"e", "", storage.SMSStatusNotSent, time.Minute},
				{"old", "US", "failed", -48 * time.Hour},
			} {
				mustOK(t, "ClaimSMSMessage", s.ClaimSMSMessage(ctx, claim(c.key, c.country, at(c.created))))
				mustOK(t, "FinishSMSMessage", s.FinishSMSMessage(ctx, c.key, "SM"+string(rune('0'+i)), c.status, 0, at(c.created)))
			}
			got, err := s.SMSStats(ctx, at(-time.Hour))
			mustOK(t, "SMSStats", err)
			want := []storage.SMSStat{
				{Country: "", Status: storage.SMSStatusNotSent, Count: 1},
				{Country: "DE", Status: "delivered", Count: 1},
				{Country: "US", Status: "delivered", Count: 2},
				{Country: "US", Status: "undelivered", Count: 1},
			}
			same(t, "SMSStats", want, got)

			mustOK(t, "DeleteSMSMessages", s.DeleteSMSMessages(ctx, at(0)))
			_, err = s.GetSMSMessage(ctx, "old")
			wantErr(t, "GetSMSMessage deleted", err, storage.ErrNotFound)
			_, err = s.GetSMSMessage(ctx, "a")
			mustOK(t, "GetSMSMessage kept (created exactly at the cut)", err)
			got, err = s.SMSStats(ctx, at(-72*time.Hour))
			mustOK(t, "SMSStats after delete", err)
			same(t, "SMSStats after delete", want, got)
		}},
	}
}
