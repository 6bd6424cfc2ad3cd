// Package storagetest is the one conformance suite every storage backend runs: CRUD and
// round-trips of every record, the sentinel errors, the edges of every conditional update,
// garbage collection and concurrent races. A backend's test calls Run with a constructor that
// returns a fresh, migrated store.
//
// The suite passes times in a non-UTC zone with microsecond precision and expects them back
// equal, in UTC. Records that refer to users and clients are created after those users and
// clients, so a backend may enforce foreign keys.
package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/otpidp/otpidp/storage"
)

// subtest is one entry of the suite; it gets a fresh store.
type subtest struct {
	name string
	run  func(t *testing.T, s storage.Storage)
}

// Run runs the conformance suite. newStore returns a fresh, migrated store for each subtest and
// registers its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	t.Helper()
	var tests []subtest
	for _, group := range [][]subtest{
		basicTests(),
		userTests(),
		clientTests(),
		authRequestTests(),
		flowTests(),
		sessionTests(),
		accessTokenTests(),
		refreshTokenTests(),
		signingKeyTests(),
		gcTests(),
		concurrencyTests(),
		consentTests(),
		limitTests(),
		failurePruneTests(),
		auditRetentionTests(),
		keyRotationTests(),
		accountTests(),
		smsMessageTests(),
		clientProfileTests(),
		browserTests(),
		deviceTests(),
		userAdminTests(),
		outboxTests(),
	} {
		tests = append(tests, group...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

// maxAttempts is the code attempt limit the flow tests use.
const maxAttempts = 5

// at returns a fixed instant offset by d, with microsecond precision, expressed in a non-UTC
// zone so that a backend has to convert it.
func at(d time.Duration) time.Time {
	base := time.Date(2030, time.March, 4, 5, 6, 7, 891234000, time.UTC)
	return base.Add(d).In(time.FixedZone("UTC+05:30", 5*60*60+30*60))
}

// mustOK fails the test when err is not nil.
func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails the test unless errors.Is(err, w) for one of want (nil in want accepts nil).
func wantErr(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	for _, w := range want {
		if errors.Is(err, w) {
			return
		}
	}
	t.Fatalf("%s: err = %v, want one of %v", what, err, want)
}

// same reports a difference between want and got (times compare as instants, nil and empty
// slices alike) and any non-zero time in got that is not in UTC.
func same[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
	walkTimes(reflect.ValueOf(got), what, func(path string, tm time.Time) {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s = %v: not in UTC", path, tm)
		}
	})
}

// walkTimes calls f for every time.Time reachable through exported fields, slices and pointers.
func walkTimes(v reflect.Value, path string, f func(path string, tm time.Time)) {
	switch v.Kind() {
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			f(path, tm)
			return
		}
		for i := range v.NumField() {
			if field := v.Type().Field(i); field.IsExported() {
				walkTimes(v.Field(i), path+"."+field.Name, f)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			walkTimes(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkTimes(v.Elem(), path, f)
		}
	}
}
