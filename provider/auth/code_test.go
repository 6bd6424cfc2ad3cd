package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{"000123", "000123", true},
		{"123 456", "123456", true},
		{" 123456 ", "123456", true},
		{"123-456", "123456", true},
		{"12.34.56", "123456", true},
		{"123\u00a0456", "123456", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"", "", false},
		{"------", "", false},
		{"+123456", "", false},
		{"１２３４５６", "", false}, // full-width digits
		{"١٢٣٤٥٦", "", false}, // Arabic-Indic digits
		{"123456\x00", "", false},
		{strings.Repeat(" ", 100) + "123456", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := NormalizeCode(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NormalizeCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func uint32s(vs ...uint32) io.Reader {
	var b bytes.Buffer
	for _, v := range vs {
		_ = binary.Write(&b, binary.BigEndian, v)
	}
	return &b
}

func TestGenerateCode(t *testing.T) {
	tests := []struct {
		name    string
		r       io.Reader
		want    string
		wantErr bool
	}{
		{"zero", uint32s(0), "000000", false},
		{"leading zeros kept", uint32s(123), "000123", false},
		{"largest accepted draw", uint32s(codeLimit - 1), "999999", false},
		{"wraps modulo 10^6", uint32s(1_000_007), "000007", false},
		{"rejects draws in the biased tail", uint32s(codeLimit, 0xFFFFFFFF, 42), "000042", false},
		{"reader fails", uint32s(), "", true},
		{"short read", bytes.NewReader([]byte{1, 2}), "", true},
		{"reader only gives the tail", bytes.NewReader(bytes.Repeat([]byte{0xFF}, 4*maxCodeDraws)), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := generateCode(tt.r)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("generateCode = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestCodeUniformity: a chi-square test per digit position over 100,000 codes from a seeded
// reader. With 9 degrees of freedom, 27.88 is exceeded with probability 0.001.
func TestCodeUniformity(t *testing.T) {
	const n = 100_000
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	var counts [codeDigits][10]int
	for range n {
		c, err := generateCode(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != codeDigits {
			t.Fatalf("code %q has %d digits", c, len(c))
		}
		for pos, d := range []byte(c) {
			counts[pos][d-'0']++
		}
	}
	const expected = n / 10.0
	for pos, cs := range counts {
		var chi2 float64
		for _, c := range cs {
			d := float64(c) - expected
			chi2 += d * d / expected
		}
		if chi2 > 27.88 {
			t.Errorf("position %d: chi-square %.1f > 27.88; counts %v", pos, chi2, cs)
		}
	}
}

func TestCodeHashBinding(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	base := codeHash(key, "flow-a", "123456")
	if len(base) != 32 {
		t.Fatalf("hash has %d bytes", len(base))
	}
	for name, other := range map[string][]byte{
		"other flow":       codeHash(key, "flow-b", "123456"),
		"other code":       codeHash(key, "flow-a", "123457"),
		"other key":        codeHash(bytes.Repeat([]byte{8}, 32), "flow-a", "123456"),
		"shifted boundary": codeHash(key, "flow-a:1", "23456"),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s: same hash", name)
		}
	}
	if !bytes.Equal(base, codeHash(key, "flow-a", "123456")) {
		t.Error("hash is not deterministic")
	}
}

func TestCodeText(t *testing.T) {
	tests := []struct {
		ttl  time.Duration
		want string
	}{
		{5 * time.Minute, "Your otpidp code is 012345. It expires in 5 minutes.\n\n@idp.example.com #012345"},
		{10 * time.Minute, "Your otpidp code is 012345. It expires in 10 minutes.\n\n@idp.example.com #012345"},
		{90 * time.Second, "Your otpidp code is 012345. It expires in 2 minutes.\n\n@idp.example.com #012345"},
		{time.Minute, "Your otpidp code is 012345. It expires in 1 minute.\n\n@idp.example.com #012345"},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.CodeTTL = tt.ttl })
			if got := e.a.codeText(t.Context(), "012345"); got != tt.want {
				t.Errorf("codeText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for range 100 {
		u, err := e.a.newUserID()
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.a.newFlowID()
		if err != nil {
			t.Fatal(err)
		}
		if len(u) != 32 || len(f) != 22 || seen[u] || seen[f] {
			t.Fatalf("IDs %q, %q: wrong length or repeated", u, f)
		}
		seen[u], seen[f] = true, true
	}
	short := func() *Authenticator { return &Authenticator{rand: strings.NewReader("short")} }
	if _, err := short().newUserID(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("newUserID with a short reader: err = %v", err)
	}
	if _, err := short().newFlowID(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("newFlowID with a short reader: err = %v", err)
	}
}
