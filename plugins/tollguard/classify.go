package tollguard

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Finding is one class a dialled number belongs to, with the library's
// verdict in words.
type Finding struct {
	Class Class
	// Why reads "+49 900 1234567 is a premium-rate number (DE)".
	Why string
}

// Number extracts the dialled number from a call's URI: a tel: URI, or a
// sip:/sips: URI with user=phone or a user part that is a number (RFC 3261
// §19.1.6). ok is false for anything else (a call to a SIP address).
func Number(uri string) (number string, ok bool) {
	scheme, rest, found := strings.Cut(uri, ":")
	if !found {
		return "", false
	}
	switch strings.ToLower(scheme) {
	case "tel":
		number, _, _ = strings.Cut(rest, ";")
	case "sip", "sips":
		user, hostpart, found := strings.Cut(rest, "@")
		if !found {
			return "", false
		}
		user, _, _ = strings.Cut(user, ";")
		if !strings.Contains(strings.ToLower(hostpart), "user=phone") && !numeric(user) {
			return "", false
		}
		number = user
	default:
		return "", false
	}
	number = strings.Map(func(r rune) rune {
		if strings.ContainsRune("-.() ", r) { // RFC 3966 visual separators
			return -1
		}
		return r
	}, number)
	return number, numeric(number)
}

func numeric(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || strings.ContainsRune("-.() ", r)) {
			return false
		}
	}
	return true
}

// Classify finds the classes number (as Number returns it) belongs to,
// read in home (ISO 3166-1 alpha-2; may be empty).
//
// Emergency numbers are short numbers of a region, so they are checked
// before parsing: in home, or, when there is no home region, in every
// region the library knows (a guard errs on the careful side: 112, 911,
// 999 and 000 are all caught). A number the library cannot parse
// (national without a region) has no class.
func Classify(number, home string) []Finding {
	var out []Finding
	if !strings.HasPrefix(number, "+") {
		if home != "" && phonenumbers.ConnectsToEmergencyNumber(number, home) {
			out = append(out, Finding{Emergency, fmt.Sprintf("%s is an emergency number (%s)", number, home)})
		} else if home == "" {
			if rs := emergencyRegions(number); len(rs) > 0 {
				out = append(out, Finding{Emergency, fmt.Sprintf("%s is an emergency number in %d regions, e.g. %s (no home region set)",
					number, len(rs), strings.Join(rs[:min(3, len(rs))], ", "))})
			}
		}
	}
	n, err := phonenumbers.Parse(number, home)
	if err != nil {
		return out
	}
	shown := phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	region := phonenumbers.GetRegionCodeForNumber(n)
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.PREMIUM_RATE:
		out = append(out, Finding{PremiumRate, fmt.Sprintf("%s is a premium-rate number (%s)", shown, region)})
	case phonenumbers.SHARED_COST:
		out = append(out, Finding{SharedCost, fmt.Sprintf("%s is a shared-cost number (%s)", shown, region)})
	}
	if home != "" && int(n.GetCountryCode()) != phonenumbers.GetCountryCodeForRegion(home) {
		where := region
		if where == "" || where == "ZZ" {
			where = fmt.Sprintf("+%d", n.GetCountryCode())
		}
		out = append(out, Finding{International, fmt.Sprintf("%s is an international number (%s, home region %s)", shown, where, home)})
	}
	return out
}

// emergencyRegions lists, sorted, the regions where number is exactly an
// emergency number.
func emergencyRegions(number string) []string {
	var out []string
	for r := range phonenumbers.GetSupportedRegions() {
		if phonenumbers.IsEmergencyNumber(number, r) {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}
