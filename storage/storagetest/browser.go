package storagetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func browserTests() []subtest {
	return []subtest{
		{"Browser/Rebind", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			old, next, other := hash("browser-old"), hash("browser-new"), hash("browser-other")
			// Two flows and two requests of this browser, one of each of another browser.
			for _, f := range []storage.Flow{newFlow("f1", "111111"), newFlow("f2", "222222"), newFlow("f3", "333333")} {
				f.BrowserHash = old
				if f.ID == "f3" {
					f.BrowserHash = other
				}
				mustOK(t, "CreateFlow "+f.ID, s.CreateFlow(ctx, f))
			}
			for _, id := range []string{"a1", "a2", "a3"} {
				a := newAuthRequest(id)
				a.BrowserHash = old
				if id == "a3" {
					a.BrowserHash = other
				}
				mustOK(t, "CreateAuthRequest "+id, s.CreateAuthRequest(ctx, a))
			}
			// A completed request moves too: its callback is reached with the new cookie.
			mustOK(t, "CompleteAuthRequest a2", s.CompleteAuthRequest(ctx, "a2", "u1", at(0), []string{"pwd"}, at(0)))

			wantErr(t, "RebindBrowser of a flow of another browser", s.RebindBrowser(ctx, old, next, "f3"), storage.ErrConflict)
			wantErr(t, "RebindBrowser of an absent flow", s.RebindBrowser(ctx, old, next, "nope"), storage.ErrNotFound)
			flowHash := func(id string) []byte {
				t.Helper()
				f, err := s.GetFlow(ctx, id)
				mustOK(t, "GetFlow "+id, err)
				return f.BrowserHash
			}
			requestHash := func(id string) []byte {
				t.Helper()
				a, err := s.GetAuthRequest(ctx, id)
				mustOK(t, "GetAuthRequest "+id, err)
				return a.BrowserHash
			}
			// The refusals changed nothing.
			for _, id := range []string{"f1", "f2"} {
				if !bytes.Equal(flowHash(id), old) {
					t.Fatalf("a refused RebindBrowser moved flow %s", id)
				}
			}
			if !bytes.Equal(requestHash("a1"), old) {
				t.Fatal("a refused RebindBrowser moved request a1")
			}

			mustOK(t, "RebindBrowser", s.RebindBrowser(ctx, old, next, "f1"))
			for id, want := range map[string][]byte{"f1": next, "f2": next, "f3": other} {
				if got := flowHash(id); !bytes.Equal(got, want) {
					t.Errorf("flow %s is bound to %x, want %x", id, got, want)
				}
			}
			for id, want := range map[string][]byte{"a1": next, "a2": next, "a3": other} {
				if got := requestHash(id); !bytes.Equal(got, want) {
					t.Errorf("request %s is bound to %x, want %x", id, got, want)
				}
			}
			// The rest of each record is untouched.
			f, err := s.GetFlow(ctx, "f2")
			mustOK(t, "GetFlow f2", err)
			want := newFlow("f2", "222222")
			want.BrowserHash = next
			same(t, "rebound flow", want, f)

			// The old value holds nothing any more: re-binding from it again fails for a flow,
			// and moves nothing without one.
			wantErr(t, "RebindBrowser from the old hash again", s.RebindBrowser(ctx, old, hash("browser-third"), "f1"), storage.ErrConflict)
			mustOK(t, "RebindBrowser without a flow", s.RebindBrowser(ctx, old, hash("browser-third"), ""))
			if !bytes.Equal(flowHash("f1"), next) || !bytes.Equal(requestHash("a1"), next) {
				t.Fatal("a re-bind from the old hash moved the new binding")
			}
			// Without a flow (after the code, when the flow may be gone), requests move alone.
			mustOK(t, "RebindBrowser of requests", s.RebindBrowser(ctx, next, hash("browser-third"), ""))
			if !bytes.Equal(requestHash("a2"), hash("browser-third")) {
				t.Fatal("RebindBrowser without a flow did not move the requests")
			}

			for _, bad := range [][2][]byte{{nil, next}, {old, nil}, {old, old}} {
				if err := s.RebindBrowser(ctx, bad[0], bad[1], ""); err == nil {
					t.Errorf("RebindBrowser(%x, %x) = nil, want an error", bad[0], bad[1])
				}
			}
		}},
		{"Browser/ConcurrentRebind", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			f := newFlow("f1", "111111")
			mustOK(t, "CreateFlow", s.CreateFlow(ctx, f))
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { errs[i] = s.RebindBrowser(ctx, f.BrowserHash, hash("next-"+string(rune('a'+i))), f.ID) })
			}
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Fatalf("two re-binds of one value won (%d and %d)", won, i)
				case err == nil:
					won = i
				default:
					wantErr(t, "losing RebindBrowser", err, storage.ErrConflict)
				}
			}
			if won < 0 {
				t.Fatal("no re-bind won")
			}
			got, err := s.GetFlow(ctx, f.ID)
			mustOK(t, "GetFlow", err)
			if !bytes.Equal(got.BrowserHash, hash("next-"+string(rune('a'+won)))) {
				t.Fatal("the flow is not bound to the winner's hash")
			}
		}},
		{"User/UpdateName", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			mustOK(t, "UpdateUserName", s.UpdateUserName(ctx, "u1", "Grace Hopper", at(time.Hour)))
			got, err := s.GetUser(ctx, "u1")
			mustOK(t, "GetUser", err)
			want := newUser("u1", "+15550000001")
			want.Name, want.UpdatedAt = "Grace Hopper", at(time.Hour)
			same(t, "user after UpdateUserName", want, got)
			other, err := s.GetUser(ctx, "u2")
			mustOK(t, "GetUser u2", err)
			same(t, "the other user", newUser("u2", "+15550000002"), other)
			wantErr(t, "UpdateUserName absent", s.UpdateUserName(ctx, "nope", "X", at(0)), storage.ErrNotFound)
		}},
	}
}
