package ui

import (
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// The phone number examples the pages suggest come from the phone number library's example
// mobile numbers for the regions codes may be texted to, so that a number typed as the example
// shows is one otpidp serves; a number of a country not served is refused with the list of
// the countries that are.

// countries is what the pages know of the configured regions.
type countries struct {
	regions []string // ISO 3166 codes codes may be texted to; nil: any
	example string   // an example mobile number of the first served region, international format
}

// newCountries prepares the pages' countries: allowed is OTPIDP_SMS_COUNTRIES (empty or "*":
// any), defaultRegion the region of national numbers.
func newCountries(allowed []string, defaultRegion string) countries {
	var c countries
	for _, r := range allowed {
		r = strings.ToUpper(strings.TrimSpace(r))
		if r == "*" {
			c.regions = nil
			break
		}
		if r != "" && !slices.Contains(c.regions, r) {
			c.regions = append(c.regions, r)
		}
	}
	first := strings.ToUpper(defaultRegion)
	if len(c.regions) > 0 && !slices.Contains(c.regions, first) {
		first = c.regions[0]
	}
	if first == "" {
		first = "US"
	}
	if n := phonenumbers.GetExampleNumberForType(first, phonenumbers.MOBILE); n != nil {
		c.example = phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	}
	if c.example == "" {
		c.example = "+1 201-555-0123"
	}
	return c
}

// served names the countries served in lang ("United States, Canada"); "" when any is.
func (c countries) served(lang string) string {
	if len(c.regions) == 0 {
		return ""
	}
	namer := display.Regions(language.Make(lang))
	var names []string
	for _, code := range c.regions {
		name := code
		if r, err := language.ParseRegion(code); err == nil {
			if n := namer.Name(r); n != "" {
				name = n
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}
