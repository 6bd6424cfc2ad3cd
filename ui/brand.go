package ui

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Branding: the product name (in every page's header and title), a logo (OTPIDP_LOGO_URL: an
// https:// or data:image/ URL; without one, an inline mark in the accent colour) and the accent
// colour (OTPIDP_ACCENT_COLOR, "#rrggbb"), served as /brand.css after the stylesheet. An accent
// must reach WCAG AA contrast (4.5:1) against the light page; the dark scheme uses a lightened
// version that reaches it against the dark page, and button text is black or white, whichever
// contrasts more.

const defaultAccent = "#0b57d0"

// CheckAccentColor validates an accent colour: empty (the default) or "#rrggbb" with at least
// 4.5:1 contrast against white.
func CheckAccentColor(c string) error {
	if c == "" {
		return nil
	}
	rgb, ok := parseHex(c)
	if !ok {
		return fmt.Errorf("accent colour %q: want #rrggbb", c)
	}
	if r := contrast(rgb, [3]float64{1, 1, 1}); r < 4.5 {
		return fmt.Errorf("accent colour %s: contrast %.2f:1 against white, below the 4.5:1 of WCAG AA; choose a darker colour", c, r)
	}
	return nil
}

func logoSource(logo string) (string, error) {
	if logo == "" || strings.HasPrefix(logo, "data:image/") {
		return "", nil
	}
	u, err := url.Parse(logo)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsAny(logo, " ;'\"") {
		return "", fmt.Errorf("logo URL %q: want an https:// URL or a data:image/ URL", logo)
	}
	return "https://" + u.Host, nil
}

func parseHex(c string) ([3]float64, bool) {
	var rgb [3]float64
	if len(c) != 7 || c[0] != '#' {
		return rgb, false
	}
	for i := range 3 {
		v, err := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return rgb, false
		}
		rgb[i] = float64(v) / 255
	}
	return rgb, true
}

func toHex(rgb [3]float64) string {
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(rgb[0]*255)), int(math.Round(rgb[1]*255)), int(math.Round(rgb[2]*255)))
}

// luminance is WCAG's relative luminance.
func luminance(rgb [3]float64) float64 {
	var l [3]float64
	for i, c := range rgb {
		if c <= 0.04045 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// onColor is black or white, whichever contrasts more with c.
func onColor(c [3]float64) string {
	if contrast(c, [3]float64{0, 0, 0}) > contrast(c, [3]float64{1, 1, 1}) {
		return "#000000"
	}
	return "#ffffff"
}

// darkCard is the card colour of the dark scheme (style.css).
var darkCard = [3]float64{0x1c / 255.0, 0x21 / 255.0, 0x27 / 255.0}

// brandCSS returns the stylesheet of the accent colour (CheckAccentColor has accepted it).
func brandCSS(accent string) []byte {
	if accent == "" {
		accent = defaultAccent
	}
	rgb, _ := parseHex(accent)
	dark := rgb
	for i := 0; i < 40 && contrast(dark, darkCard) < 4.5; i++ { // mix with white until readable
		for j := range dark {
			dark[j] += (1 - dark[j]) * 0.1
		}
	}
	return fmt.Appendf(nil, ":root{--accent:%s;--on-accent:%s}\n@media (prefers-color-scheme:dark){:root{--accent:%s;--on-accent:%s}}\n",
		toHex(rgb), onColor(rgb), toHex(dark), onColor(dark))
}

func (u *UI) BrandCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(u.brandCSS)
}

// CheckLogoURL validates a logo URL: empty, https://…, or data:image/….
func CheckLogoURL(logo string) error {
	_, err := logoSource(logo)
	return err
}
