package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// newDevice returns a fresh device authorization of client c1 that expires at at(10m).
func newDevice(id string) storage.DeviceAuthorization {
	return storage.DeviceAuthorization{
		ID: id, DeviceCodeHash: hash("device-" + id), UserCodeHash: hash("user-" + id), ClientID: "c1",
		Scopes: []string{"openid", "offline_access"}, CreatedAt: at(0), ExpiresAt: at(10 * time.Minute),
	}
}

func deviceTests() []subtest {
	setup := func(t *testing.T, s storage.Storage, ids ...string) {
		t.Helper()
		mustOK(t, "CreateClient", s.CreateClient(t.Context(), newClient("c1")))
		for _, id := range ids {
			mustOK(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(t.Context(), newDevice(id)))
		}
	}
	return []subtest{
		{"Device/CreateAndGetByUserCode", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			setup(t, s, "d1")
			got, err := s.GetDeviceAuthorizationByUserCode(ctx, hash("user-d1"), at(time.Minute))
			mustOK(t, "GetDeviceAuthorizationByUserCode", err)
			same(t, "device authorization", newDevice("d1"), got)
			_, err = s.GetDeviceAuthorizationByUserCode(ctx, hash("user-nope"), at(time.Minute))
			wantErr(t, "unknown user code", err, storage.ErrNotFound)
			_, err = s.GetDeviceAuthorizationByUserCode(ctx, hash("user-d1"), at(10*time.Minute))
			wantErr(t, "expired user code", err, storage.ErrNotFound)
		}},
		{"Device/DuplicateCodes", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			setup(t, s, "d1")
			d := newDevice("d2")
			d.UserCodeHash = hash("user-d1")
			wantErr(t, "taken user code", s.CreateDeviceAuthorization(ctx, d), storage.ErrAlreadyExists)
			d = newDevice("d3")
			d.DeviceCodeHash = hash("device-d1")
			wantErr(t, "taken device code", s.CreateDeviceAuthorization(ctx, d), storage.ErrAlreadyExists)
		}},
		{"Device/ApproveOnceThenConsumeOnce", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			setup(t, s, "d1")
			mustOK(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "+15550000001")))
			wantErr(t, "consume before approval", s.ConsumeDeviceAuthorization(ctx, "d1", at(time.Minute)), storage.ErrConflict)
			mustOK(t, "approve", s.DecideDeviceAuthorization(ctx, "d1", true, "u1", at(-time.Hour), []string{"pwd", "sms", "mfa"}, at(time.Minute)))
			wantErr(t, "second decision", s.DecideDeviceAuthorization(ctx, "d1", false, "", time.Time{}, nil, at(2*time.Minute)), storage.ErrConflict)
			wantErr(t, "decide unknown", s.DecideDeviceAuthorization(ctx, "nope", true, "u1", at(0), nil, at(time.Minute)), storage.ErrNotFound)
			_, err := s.GetDeviceAuthorizationByUserCode(ctx, hash("user-d1"), at(time.Minute))
			wantErr(t, "a decided request is not found by its user code", err, storage.ErrNotFound)
			got, early, err := s.PollDeviceAuthorization(ctx, hash("device-d1"), 5*time.Second, at(3*time.Minute))
			mustOK(t, "PollDeviceAuthorization", err)
			want := newDevice("d1")
			want.UserID, want.AuthTime, want.AMR, want.ApprovedAt, want.LastPolledAt = "u1", at(-time.Hour), []string{"pwd", "sms", "mfa"}, at(time.Minute), at(3*time.Minute)
			same(t, "approved", want, got)
			if early {
				t.Error("first poll reported early")
			}
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() { errs[i] = s.ConsumeDeviceAuthorization(ctx, "d1", at(4*time.Minute)) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					wantErr(t, "losing consume", err, storage.ErrAlreadyUsed)
				}
			}
			if won != 1 {
				t.Fatalf("%d concurrent consumes succeeded, want 1", won)
			}
		}},
		{"Device/DenyAndExpiry", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			setup(t, s, "d1", "d2")
			mustOK(t, "deny", s.DecideDeviceAuthorization(ctx, "d1", false, "", time.Time{}, nil, at(time.Minute)))
			got, _, err := s.PollDeviceAuthorization(ctx, hash("device-d1"), time.Second, at(2*time.Minute))
			mustOK(t, "poll", err)
			if !got.DeniedAt.Equal(at(time.Minute)) || !got.ApprovedAt.IsZero() {
				t.Errorf("denied request: DeniedAt %v, ApprovedAt %v", got.DeniedAt, got.ApprovedAt)
			}
			wantErr(t, "consume a denied request", s.ConsumeDeviceAuthorization(ctx, "d1", at(2*time.Minute)), storage.ErrConflict)
			wantErr(t, "approve after expiry", s.DecideDeviceAuthorization(ctx, "d2", true, "u1", at(0), nil, at(10*time.Minute)), storage.ErrConflict)
		}},
		{"Device/PollTooEarly", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			setup(t, s, "d1")
			steps := []struct {
				now   time.Duration
				early bool
			}{{0, false}, {4 * time.Second, true}, {8 * time.Second, true}, {13 * time.Second, false}, {18 * time.Second, false}}
			for _, st := range steps {
				got, early, err := s.PollDeviceAuthorization(ctx, hash("device-d1"), 5*time.Second, at(st.now))
				mustOK(t, "poll", err)
				if early != st.early || !got.LastPolledAt.Equal(at(st.now)) {
					t.Errorf("poll at +%v: early %v, LastPolledAt %v; want %v, %v", st.now, early, got.LastPolledAt, st.early, at(st.now))
				}
			}
			_, _, err := s.PollDeviceAuthorization(ctx, hash("device-nope"), time.Second, at(0))
			wantErr(t, "poll an unknown device code", err, storage.ErrNotFound)
		}},
		{"Device/GC", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			setup(t, s, "old")
			live := newDevice("live")
			live.ExpiresAt = at(20 * time.Minute)
			mustOK(t, "create live", s.CreateDeviceAuthorization(ctx, live))
			mustOK(t, "DeleteExpiredDeviceAuthorizations", s.DeleteExpiredDeviceAuthorizations(ctx, at(10*time.Minute)))
			_, _, err := s.PollDeviceAuthorization(ctx, hash("device-old"), 0, at(10*time.Minute))
			wantErr(t, "expired request after GC", err, storage.ErrNotFound)
			_, _, err = s.PollDeviceAuthorization(ctx, hash("device-live"), 0, at(10*time.Minute))
			mustOK(t, "live request after GC", err)
		}},
	}
}
