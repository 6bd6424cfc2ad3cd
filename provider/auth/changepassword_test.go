package auth

import (
	"errors"
	"slices"
	"testing"
)

// fieldsOf lists the refused fields of err with their reasons, in order: one for a single
// *FieldError, one per part of a joined error.
func fieldsOf(t *testing.T, err error) []FieldError {
	t.Helper()
	parts := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	}
	var got []FieldError
	for _, p := range parts {
		var fe *FieldError
		if !errors.As(p, &fe) {
			t.Fatalf("part %v of %v is not a *FieldError", p, err)
		}
		got = append(got, *fe)
	}
	return got
}

// TestChangePasswordAllErrors (issue 13): a password change reports every refused field at
// once, in the form's order — a wrong current password, the new password's policy failure and
// a confirmation that differs — and changes nothing; a reset's new password likewise.
func TestChangePasswordAllErrors(t *testing.T) {
	e, u, _ := resetEnv(t)
	ctx := t.Context()
	before, _ := e.store.GetUser(ctx, u.ID)
	for _, tt := range []struct {
		name                   string
		current, next, confirm string
		want                   []FieldError
	}{
		{"all three", "wrong password here", "short", "other", []FieldError{
			{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent},
			{Field: FieldPassword, Reason: ReasonTooShort},
			{Field: FieldPasswordConfirm, Reason: ReasonMismatch}}},
		{"wrong current and mismatch", "wrong password here", "a brand new password", "something else", []FieldError{
			{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent},
			{Field: FieldPasswordConfirm, Reason: ReasonMismatch}}},
		{"right current, policy and mismatch", testPassword, "short", "shorter", []FieldError{
			{Field: FieldPassword, Reason: ReasonTooShort},
			{Field: FieldPasswordConfirm, Reason: ReasonMismatch}}},
		{"policy only", testPassword, "short", "short", []FieldError{
			{Field: FieldPassword, Reason: ReasonTooShort}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := e.a.ChangePassword(ctx, u.ID, "s1", tt.current, tt.next, tt.confirm)
			if got := fieldsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("refused fields = %+v, want %+v", got, tt.want)
			}
		})
	}
	if after, _ := e.store.GetUser(ctx, u.ID); after.PasswordHash != before.PasswordHash {
		t.Fatal("a refused change changed the password hash")
	}
	// The new password of a reset: the policy and the confirmation at once.
	if _, err := e.a.newPassword(ctx, u, "short", "other"); !slices.Equal(fieldsOf(t, err), []FieldError{
		{Field: FieldPassword, Reason: ReasonTooShort}, {Field: FieldPasswordConfirm, Reason: ReasonMismatch}}) {
		t.Errorf("reset's new password: %v", err)
	}
}
