package phone

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestNormalizeAccepts(t *testing.T) {
	tests := []struct {
		name, input, region, want string
	}{
		{"E.164", "+14155552671", "", "+14155552671"},
		{"international with dashes", "+1 415-555-2671", "", "+14155552671"},
		{"national with region", "(415) 555-2671", "US", "+14155552671"},
		{"lower-case region", "(415) 555-2671", "us", "+14155552671"},
		{"dots", "415.555.2671", "US", "+14155552671"},
		{"mixed separators", " +1 (415) 555.2671 ", "", "+14155552671"},
		{"plus ignores region", "+44 7911 123456", "US", "+447911123456"},
		{"00 prefix without region", "00 44 7911 123456", "", "+447911123456"},
		{"00 prefix where IDD is 011", "00 44 7911 123456", "US", "+447911123456"},
		{"00 prefix where IDD is 00", "00 44 7911 123456", "GB", "+447911123456"},
		{"011 prefix from US", "011 44 7911 123456", "US", "+447911123456"},
		{"national trunk prefix", "07911 123456", "GB", "+447911123456"},
		{"German slash", "0176/67111638", "DE", "+4917667111638"},
		{"Italian leading zero kept", "+39 06 6982 1234", "", "+390669821234"},
		{"French mobile", "06 12 34 56 78", "FR", "+33612345678"},
		{"country code in parentheses", "(+44) 7911 123456", "US", "+447911123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.input, tt.region)
			if err != nil {
				t.Fatalf("Normalize(%q, %q): %v", tt.input, tt.region, err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, want %q", tt.input, tt.region, got, tt.want)
			}
		})
	}
}

// TestNormalizeOneNumber is the Kratos phone-normalization regression (SECURITY REG-03): every
// way of writing one number gives one key.
func TestNormalizeOneNumber(t *testing.T) {
	const want = "+4917667111638"
	for _, tt := range []struct{ input, region string }{
		{"+49 176 671 11 638", ""},
		{"+49-176-671-11-638", ""},
		{"+4917667111638", ""},
		{"+49 (176) 67111638", ""},
		{"0049 176 67111638", ""},
		{"0176 67111638", "DE"},
		{"+49.176.671.11.638", "US"},
	} {
		t.Run(tt.input+"/"+tt.region, func(t *testing.T) {
			got, err := Normalize(tt.input, tt.region)
			if err != nil {
				t.Fatalf("Normalize(%q, %q): %v", tt.input, tt.region, err)
			}
			if got != want {
				t.Errorf("Normalize(%q, %q) = %q, want %q", tt.input, tt.region, got, want)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct {
		name, input, region, wantMsg string
	}{
		{"empty", "", "US", "empty"},
		{"blank", "   ", "US", "empty"},
		{"too long", "+1" + strings.Repeat(" ", 60) + "4155552671", "", "too long"},
		{"65 digits", strings.Repeat("1", 65), "US", "too long"},
		{"letters", "+1-800-FLOWERS", "", "letters"},
		{"extension", "+1 415 555 2671 ext 12", "", "letters"},
		{"only separators", "+ ( ) - .", "", "no digits"},
		{"plus in the middle", "1+4155552671", "US", "start"},
		{"two pluses", "++14155552671", "", "start"},
		{"plus after a digit in parentheses", "(1+415) 555 2671", "US", "start"},
		{"tab inside", "+1\t4155552671", "", "use only"},
		{"full-width digits", "+１４１５５５５２６７１", "", "use only"},
		{"markup", "<b>4155552671</b>", "US", "use only"},
		{"semicolon extension", "+14155552671;ext=1", "", "use only"},
		{"no country code", "4155552671", "", "country code"},
		{"unknown region", "4155552671", "XX", "country code"},
		{"unknown country code", "+999 1234 5678", "", "country code"},
		{"too short", "+1 415 555", "", "not a valid number"},
		{"invalid area code", "+1 099 555 2671", "", "not a valid number"},
		{"unassigned international network", "+882 1234 5678", "", "not a valid number"},
		{"one digit", "7", "US", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.input, tt.region)
			if err == nil {
				t.Fatalf("Normalize(%q, %q) = %q, want an error", tt.input, tt.region, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if got != "" {
				t.Errorf("Normalize returned %q with its error", got)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if digits := onlyDigits(tt.input); len(digits) >= 3 && strings.Contains(err.Error(), digits) {
				t.Errorf("error %q repeats the input", err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+14155552671", "+1 ••• ••• 2671"},
		{"+447911123456", "+44 •••• ••3456"},
		{"+4917667111638", "+49 ••• ••••1638"},
		{"+33612345678", "+33 • •• •• 56 78"},
		{"+390669821234", "+39 •• •••• 1234"},
		{"+29022222", "+290 •••22"},                     // 5-digit national number: at most half shown
		{"+88212345678", "+882 ••••5678"},               // parseable but not valid: still masked
		{"+12", "••••••"},                               // too short to parse
		{"", "••••••"},                                  // empty
		{"garbage", "••••••"},                           // not a number
		{"14155552671", "•••••• 671"},                   // no "+": unparsed, under a third shown
		{"+" + strings.Repeat("9", 100), "•••••• 9999"}, // over-long
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskForLog(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+14155552667", "+1•••••••67"},
		{"+447911123456", "+44•••••••56"},
		{"+4917667111638", "+49•••••••38"},
		{"+29022222", "+290•••••••2"},
		{"+3114020", "+31•••••••0"},
		{"+1", "•••••••"},
		{"", "•••••••"},
		{"not a number", "•••••••"},
		{"4155552671", "•••••••71"},
		{"+1 415 555 2671", "+1•••••••71"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskForLog(tt.in); got != tt.want {
				t.Errorf("MaskForLog(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestMaskHidesNumber checks, over many numbers, that neither mask shows enough digits to
// recover the number.
func TestMaskHidesNumber(t *testing.T) {
	for _, n := range []string{
		"+14155552671", "+447911123456", "+4917667111638", "+33612345678", "+390669821234",
		"+29022222", "+3114020", "+8613800138000", "+61212345678", "+5511961234567",
	} {
		t.Run(n, func(t *testing.T) {
			cc := strconv.Itoa(CountryCode(n))
			if cc == "0" {
				t.Fatalf("CountryCode(%q) = 0", n)
			}
			nsnLen := len(n) - 1 - len(cc)
			for name, masked := range map[string]string{"Mask": Mask(n), "MaskForLog": MaskForLog(n)} {
				rest, ok := strings.CutPrefix(masked, "+"+cc)
				if !ok {
					t.Fatalf("%s(%q) = %q does not start with +%s", name, n, masked, cc)
				}
				if visible := len(onlyDigits(rest)); visible > 4 || visible*2 > nsnLen {
					t.Errorf("%s(%q) = %q shows %d of %d national digits", name, n, masked, visible, nsnLen)
				}
				if !strings.HasSuffix(n, onlyDigits(rest)) {
					t.Errorf("%s(%q) = %q: shown digits are not the last ones", name, n, masked)
				}
			}
		})
	}
}

func TestIsMobileCapable(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"GB mobile", "+447400123456", true},
		{"DE mobile", "+4915123456789", true},
		{"FR mobile", "+33612345678", true},
		{"US fixed line or mobile", "+14155552671", true},
		{"IN fixed line or mobile", "+917410410123", true},
		{"GB fixed line", "+441212345678", false},
		{"DE fixed line", "+4930123456", false},
		{"US toll free", "+18002345678", false},
		{"international freephone", "+80012345678", false},
		{"GB premium rate", "+449012345678", false},
		{"US premium rate", "+19002345678", false},
		{"DE shared cost", "+4918012345", false},
		{"GB VoIP", "+445612345678", false},
		{"GB personal number", "+447012345678", false},
		{"GB pager", "+447640123456", false},
		{"GB UAN", "+445512345678", false},
		{"DE voicemail", "+49177991234567", false},
		{"invalid", "+88212345678", false},
		{"garbage", "hello", false},
		{"empty", "", false},
		{"national form", "07400123456", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsMobileCapable(tt.in); got != tt.want {
				t.Errorf("IsMobileCapable(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCountryCodeAndRegion(t *testing.T) {
	tests := []struct {
		in         string
		wantCC     int
		wantRegion string
	}{
		{"+14155552671", 1, "US"},
		{"+16135550123", 1, "CA"},
		{"+4917667111638", 49, "DE"},
		{"+33612345678", 33, "FR"},
		{"+80012345678", 800, "001"},
		{"+8613800138000", 86, "CN"},
		{"+999123", 0, ""},
		{"4155552671", 0, ""},
		{"", 0, ""},
		{"+", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := CountryCode(tt.in); got != tt.wantCC {
				t.Errorf("CountryCode(%q) = %d, want %d", tt.in, got, tt.wantCC)
			}
			if got := Region(tt.in); got != tt.wantRegion {
				t.Errorf("Region(%q) = %q, want %q", tt.in, got, tt.wantRegion)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, seed := range []struct{ input, region string }{
		{"+1 415-555-2671", ""},
		{"(415) 555-2671", "US"},
		{"00 44 7911 123456", "US"},
		{"+49 176 671 11 638", ""},
		{"0176/67111638", "DE"},
		{"+39 06 6982 1234", ""},
		{"(+44) 7911 123456", "US"},
		{"+1-800-FLOWERS", ""},
		{"", ""},
		{"++", "ZZ"},
		{"0000000000000000", "GB"},
		{"+882 1234 5678", "001"},
	} {
		f.Add(seed.input, seed.region)
	}
	f.Fuzz(func(t *testing.T, input, region string) {
		got, err := Normalize(input, region)
		_ = Mask(input)
		_ = MaskForLog(input)
		_ = IsMobileCapable(input)
		_ = Region(input)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q, %q) error %v does not wrap ErrInvalid", input, region, err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") {
			t.Fatalf("Normalize(%q, %q) = %q, does not start with +", input, region, got)
		}
		if onlyDigits(got) != got[1:] {
			t.Fatalf("Normalize(%q, %q) = %q, not + and digits", input, region, got)
		}
		for _, r := range []string{"", region, "US"} {
			again, err := Normalize(got, r)
			if err != nil || again != got {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want %q (from Normalize(%q, %q))", got, r, again, err, got, input, region)
			}
		}
		if CountryCode(got) == 0 {
			t.Fatalf("CountryCode(%q) = 0 for an accepted number", got)
		}
	})
}
