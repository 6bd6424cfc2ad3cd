package auth

import (
	"context"
	"fmt"
)

// ChangeName sets the user's full name, checked as at registration: trimmed, NFC-normalized, 1
// to MaxNameLength characters, no control characters. It returns the name as stored. Errors: a
// *FieldError (FieldName); storage.ErrNotFound (wrapped) for an unknown user.
func (a *Authenticator) ChangeName(ctx context.Context, userID, name string) (string, error) {
	clean, err := checkName(name)
	if err != nil {
		return "", err
	}
	if err := a.store.UpdateUserName(ctx, userID, clean, a.clock()); err != nil {
		return "", fmt.Errorf("auth: change name: %w", err)
	}
	a.log.InfoContext(ctx, "name changed", "user_id", userID)
	return clean, nil
}
