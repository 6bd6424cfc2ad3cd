package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

const (
	codeDigits = 6
	codeSpace  = 1_000_000 // 10^codeDigits
	// codeLimit is the largest multiple of codeSpace that fits in 32 bits: a 32-bit draw at
	// or above it is rejected, so every code is equally likely.
	codeLimit = (1 << 32) / codeSpace * codeSpace
	// maxCodeDraws bounds the rejection loop against a broken reader; an honest one needs
	// more than a handful with probability about 2^-(5*maxCodeDraws).
	maxCodeDraws = 64
	idBytes      = 16 // 128-bit IDs
	maxFlowIDLen = 64
)

// NormalizeCode returns the code typed or pasted as input without spaces, dashes and dots
// ("123 456", "123-456"), and whether what remains is exactly six ASCII digits.
func NormalizeCode(input string) (string, bool) {
	if len(input) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range input {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '\t' || r == '\u00a0':
			continue
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != codeDigits {
		return "", false
	}
	return b.String(), true
}

// generateCode draws a uniform six-digit code from r by rejection sampling over 32-bit
// big-endian values. Leading zeros are kept.
func generateCode(r io.Reader) (string, error) {
	var buf [4]byte
	for range maxCodeDraws {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("auth: generate code: %w", err)
		}
		v := binary.BigEndian.Uint32(buf[:])
		if v >= codeLimit {
			continue
		}
		return fmt.Sprintf("%0*d", codeDigits, v%codeSpace), nil
	}
	return "", fmt.Errorf("auth: generate code: random reader rejected %d times", maxCodeDraws)
}

// codeHash binds a code to its flow: HMAC-SHA256(key, flowID ":" code) (OTP-04, OTP-07).
func codeHash(key []byte, flowID, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(flowID))
	m.Write([]byte{':'})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// randomBytes reads n bytes from the injected reader.
func (a *Authenticator) randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return nil, fmt.Errorf("auth: read random: %w", err)
	}
	return b, nil
}

// newFlowID returns 128 random bits, base64url.
func (a *Authenticator) newFlowID() (string, error) {
	b, err := a.randomBytes(idBytes)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newUserID returns 128 random bits, lowercase hex: the OpenID subject (REG-09).
func (a *Authenticator) newUserID() (string, error) {
	b, err := a.randomBytes(idBytes)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// codeText is the SMS carrying a code, in the language of ctx (WithLanguage): short, no
// personal data, ending with the origin-bound line (OTP-12).
func (a *Authenticator) codeText(ctx context.Context, code string) string {
	return a.texts.Code(Language(ctx), code, a.cfg.CodeTTL, a.cfg.OriginHost)
}

// existingAccountText is sent instead of a code when someone registers a number that already
// has an account (REG-01).
func (a *Authenticator) existingAccountText(ctx context.Context) string {
	return a.texts.ExistingAccount(Language(ctx))
}
