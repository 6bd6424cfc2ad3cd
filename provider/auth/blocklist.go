package auth

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswordsText is the blocklist of common and breached passwords: one lower-case
// password of at least MinPasswordLength characters per line (see
// commonpasswords_LICENSE.txt for where it comes from).
//
//go:embed commonpasswords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 16000)
	for line := range strings.SplitSeq(commonPasswordsText, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
})

// CommonPasswordCount is the number of passwords on the embedded blocklist.
func CommonPasswordCount() int { return len(commonPasswords()) }

// isCommonPassword reports whether the normalized password, ignoring case and spaces, is on the
// blocklist.
func isCommonPassword(normalized string) bool {
	_, ok := commonPasswords()[strings.ToLower(withoutSpaces(normalized))]
	return ok
}
