package storagetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

func keyRotationTests() []subtest {
	return []subtest{
		{"KeyRotation/RetiresOlderKeysOfTheAlgorithm", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			rs1, rs2 := newSigningKey("rs1", "RS256", 1), newSigningKey("rs2", "RS256", 2)
			rs1.ExpiresAt = at(10 * time.Hour) // retired by an earlier rotation: keeps its expiry
			es1 := newSigningKey("es1", "ES256", 1)
			for _, k := range []storage.SigningKey{rs1, rs2, es1} {
				mustOK(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx, k))
			}
			rs3 := newSigningKey("rs3", "RS256", 3)
			retire := at(50 * time.Hour)
			mustOK(t, "RotateSigningKey", s.RotateSigningKey(ctx, rs3, retire))

			rs2.ExpiresAt = retire
			got, err := s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys", err)
			byID := func(a, b storage.SigningKey) int { return cmp.Compare(a.ID, b.ID) }
			slices.SortFunc(got, byID)
			same(t, "keys after rotation", []storage.SigningKey{es1, rs1, rs2, rs3}, got)
		}},
		{"KeyRotation/TakenGenerationChangesNothing", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			rs1, rs2 := newSigningKey("rs1", "RS256", 1), newSigningKey("rs2", "RS256", 2)
			mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx, rs1))
			mustOK(t, "RotateSigningKey", s.RotateSigningKey(ctx, rs2, at(50*time.Hour)))
			rs2.ExpiresAt = time.Time{}
			rs1.ExpiresAt = at(50 * time.Hour)

			// Another instance computed the same generation: refused, and it must not move
			// the expiry of the keys it would have retired, nor of the winner.
			loser := newSigningKey("rs2-other", "RS256", 2)
			wantErr(t, "RotateSigningKey same generation", s.RotateSigningKey(ctx, loser, at(99*time.Hour)), storage.ErrAlreadyExists)
			sameID := newSigningKey("rs2", "RS256", 3)
			wantErr(t, "RotateSigningKey same ID", s.RotateSigningKey(ctx, sameID, at(99*time.Hour)), storage.ErrAlreadyExists)

			got, err := s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys", err)
			same(t, "keys", []storage.SigningKey{rs2, rs1}, got)
		}},
		{"Concurrent/RotateSigningKey", func(t *testing.T, s storage.Storage) {
			ctx := t.Context()
			mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx, newSigningKey("rs1", "RS256", 1)))
			errs := race(8, func(i int) error {
				return s.RotateSigningKey(ctx, newSigningKey(fmt.Sprintf("rs2-%d", i), "RS256", 2), at(50*time.Hour))
			})
			winners(t, "RotateSigningKey", errs, 1, storage.ErrAlreadyExists)
			got, err := s.ListSigningKeys(ctx)
			mustOK(t, "ListSigningKeys", err)
			if len(got) != 2 || got[0].Generation != 2 || got[1].ExpiresAt.IsZero() {
				t.Fatalf("after 8 concurrent rotations the keys are %+v, want one generation 2 and generation 1 retired", got)
			}
		}},
	}
}
