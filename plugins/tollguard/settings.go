package tollguard

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Action is what the guard does with a class of number.
type Action string

// Actions, strictest first.
const (
	Deny  Action = "deny"  // refuse the call
	Ask   Action = "ask"   // a yes at the prompt or --yes; refused in a script without --yes
	Allow Action = "allow" // no opinion: the guard abstains (it never loosens)
)

func (a Action) strictness() int { return 2 - slices.Index([]Action{Deny, Ask, Allow}, a) }

// Class is a kind of number the guard knows.
type Class string

// Classes, each a setting of the same name.
const (
	PremiumRate   Class = "premium_rate"  // PhoneNumberType PREMIUM_RATE (0900, 1-900, 09…)
	SharedCost    Class = "shared_cost"   // PhoneNumberType SHARED_COST (0180, 0845, …)
	International Class = "international" // another country code than the home region's
	Emergency     Class = "emergency"     // an emergency short number of the home region (112, 911, 999)
)

// Settings are the guard's [policies.tollguard] table.
type Settings struct {
	Actions map[Class]Action
	// Region is the home region (ISO 3166-1 alpha-2): national numbers
	// are read in it, and a number in another country is international.
	// Empty: the request's region (config calls.region), if any.
	Region string
}

// Defaults: premium-rate numbers are refused outright (the classic
// surprise bill); shared-cost and international numbers need a yes;
// emergency numbers need a yes too, so a script or a typo in a loop never
// dials 112, while a person at a terminal is never kept from it (deny
// could cost a life, allow could flood a control room).
func Defaults() Settings {
	return Settings{Actions: map[Class]Action{PremiumRate: Deny, SharedCost: Ask, International: Ask, Emergency: Ask}}
}

// ParseSettings reads the settings table. Unknown keys and values are
// errors naming the key, so a typo is not silently ignored.
func ParseSettings(m map[string]string) (Settings, error) {
	s := Defaults()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch Class(k) {
		case PremiumRate, SharedCost, International, Emergency:
			a := Action(strings.ToLower(strings.TrimSpace(v)))
			if a != Deny && a != Ask && a != Allow {
				return Settings{}, fmt.Errorf("tollguard: setting %s = %q: want \"deny\", \"ask\" or \"allow\"", k, v)
			}
			s.Actions[Class(k)] = a
			continue
		}
		if k != "region" {
			return Settings{}, fmt.Errorf("tollguard: unknown setting %q (known: premium_rate, shared_cost, international, emergency, region)", k)
		}
		r := strings.ToUpper(strings.TrimSpace(v))
		if !phonenumbers.GetSupportedRegions()[r] {
			return Settings{}, fmt.Errorf("tollguard: setting region = %q: not a region the phone-number library knows (ISO 3166-1 alpha-2, e.g. \"DE\")", v)
		}
		s.Region = r
	}
	return s, nil
}
