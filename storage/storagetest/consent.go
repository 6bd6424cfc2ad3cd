package storagetest

import (
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func consentTests() []subtest {
	return []subtest{
		{"Consent/SaveGetReplaceDelete", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			seed(t, s)
			_, err := s.GetConsent(ctx, "u1", "c1")
			wantErr(t, "GetConsent before any", err, storage.ErrNotFound)

			first := storage.Consent{UserID: "u1", ClientID: "c1", Scopes: []string{"openid", "profile"}, GrantedAt: at(0)}
			mustOK(t, "SaveConsent", s.SaveConsent(ctx, first))
			got, err := s.GetConsent(ctx, "u1", "c1")
			mustOK(t, "GetConsent", err)
			same(t, "consent", first, got)

			// One consent per user and client: a new one replaces it.
			second := storage.Consent{UserID: "u1", ClientID: "c1", Scopes: []string{"openid", "phone", "offline_access"}, GrantedAt: at(time.Hour)}
			mustOK(t, "SaveConsent again", s.SaveConsent(ctx, second))
			got, err = s.GetConsent(ctx, "u1", "c1")
			mustOK(t, "GetConsent after replace", err)
			same(t, "replaced consent", second, got)

			// Other users and clients are untouched.
			_, err = s.GetConsent(ctx, "u2", "c1")
			wantErr(t, "GetConsent of another user", err, storage.ErrNotFound)
			_, err = s.GetConsent(ctx, "u1", "c2")
			wantErr(t, "GetConsent for another client", err, storage.ErrNotFound)

			mustOK(t, "DeleteConsent", s.DeleteConsent(ctx, "u1", "c1"))
			_, err = s.GetConsent(ctx, "u1", "c1")
			wantErr(t, "GetConsent after delete", err, storage.ErrNotFound)
			wantErr(t, "DeleteConsent again", s.DeleteConsent(ctx, "u1", "c1"), storage.ErrNotFound)
		}},
	}
}
