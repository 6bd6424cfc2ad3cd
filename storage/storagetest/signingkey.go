package storagetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func signingKeyTests() []subtest {
	return []subtest{
		{"SigningKey/CreateList", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			got, err := s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys empty", err)
			if len(got) != 0 {
				t.Fatalf("ListSigningKeys on an empty store = %v", got)
			}
			rs1, rs2, rs3 := newSigningKey("rs1", "RS256", 1), newSigningKey("rs2", "RS256", 2), newSigningKey("rs3", "RS256", 3)
			es1, es2 := newSigningKey("es1", "ES256", 1), newSigningKey("es2", "ES256", 2)
			rs1.ExpiresAt = at(48 * time.Hour)
			keys := []storage.SigningKey{rs2, es1, rs3, rs1, es2}
			for _, k := range keys {
				mustOK(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx, k))
			}

			sameGen := newSigningKey("rs2-again", "RS256", 2)
			wantErr(t, "CreateSigningKey same algorithm and generation", s.CreateSigningKey(ctx, sameGen), storage.ErrAlreadyExists)
			sameID := newSigningKey("rs1", "RS256", 4)
			wantErr(t, "CreateSigningKey same ID", s.CreateSigningKey(ctx, sameID), storage.ErrAlreadyExists)

			got, err = s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys", err)
			// Newest generation first within each algorithm; the algorithms' order is free.
			for _, alg := range []string{"RS256", "ES256"} {
				var gens []int
				for _, k := range got {
					if k.Algorithm == alg {
						gens = append(gens, k.Generation)
					}
				}
				if !slices.IsSortedFunc(gens, func(a, b int) int { return cmp.Compare(b, a) }) {
					t.Errorf("ListSigningKeys: %s generations in order %v, want newest first", alg, gens)
				}
			}
			byID := func(a, b storage.SigningKey) int { return cmp.Compare(a.ID, b.ID) }
			slices.SortFunc(got, byID)
			slices.SortFunc(keys, byID)
			same(t, "ListSigningKeys", keys, got)
		}},
		{"SigningKey/DeleteExpired", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			forever := newSigningKey("forever", "RS256", 1)
			expired := newSigningKey("expired", "RS256", 2)
			expired.ExpiresAt = at(-time.Second)
			expiresNow := newSigningKey("expires-now", "RS256", 3)
			expiresNow.ExpiresAt = at(0)
			later := newSigningKey("later", "RS256", 4)
			later.ExpiresAt = at(time.Microsecond)
			for _, k := range []storage.SigningKey{forever, expired, expiresNow, later} {
				mustOK(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx, k))
			}
			mustOK(t, "DeleteExpiredSigningKeys", s.DeleteExpiredSigningKeys(ctx, at(0)))
			got, err := s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys", err)
			same(t, "ListSigningKeys", []storage.SigningKey{later, forever}, got)
		}},
	}
}
