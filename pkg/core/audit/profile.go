package audit

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// DefaultProfile names the built-in profile used when none is chosen.
const DefaultProfile = "bcp195"

// SeverityOff disables a check in a profile file or Override map.
const SeverityOff = "off"

// maxProfileSize bounds a profile file; the built-in one is 3 KiB.
const maxProfileSize = 1 << 20

//go:embed profiles/*.toml
var builtinFS embed.FS

// Params are the numeric thresholds of a profile.
type Params struct {
	// ExpiryUrgentDays: cert.expires-soon fails when the certificate
	// expires within this many days.
	ExpiryUrgentDays int
	// ExpiryWarningDays: cert.expiry-warning fails when it expires within
	// this many days but not within ExpiryUrgentDays.
	ExpiryWarningDays int
	// MaxCertificateLifetimeDays: cert.lifetime fails above it.
	MaxCertificateLifetimeDays int
	// MaxTicketLifetime: tls.ticket-lifetime fails above it.
	MaxTicketLifetime time.Duration
}

// Profile is a policy: a severity for every check in the catalogue (or off),
// plus thresholds. Build one with BuiltinProfile, LoadProfile or
// ParseProfile; the zero Profile has no checks enabled.
type Profile struct {
	// Name is the profile's name ("bcp195", or the name in a user file).
	Name        string
	Description string
	// Source is "builtin" or the path of the file it came from.
	Source   string
	Params   Params
	severity map[string]Severity
	off      map[string]bool
}

// Severity returns the severity of check id and whether the check is
// enabled. An unknown ID is not enabled.
func (p Profile) Severity(id string) (Severity, bool) {
	s, ok := p.severity[id]
	return s, ok && !p.off[id]
}

// Severities returns a copy of the check → severity map; disabled checks
// are absent.
func (p Profile) Severities() map[string]Severity {
	out := make(map[string]Severity, len(p.severity))
	for id, s := range p.severity {
		if !p.off[id] {
			out[id] = s
		}
	}
	return out
}

// Override returns a copy of p with the given checks re-weighed: values are
// severity names or "off". This is how a policy plugin's overrides apply.
// Unknown check IDs and bad values are an error naming all of them; p is
// never modified.
func (p Profile) Override(overrides map[string]string) (Profile, error) {
	q := p
	q.severity = maps.Clone(p.severity)
	q.off = maps.Clone(p.off)
	if q.severity == nil {
		q.severity = map[string]Severity{}
	}
	if q.off == nil {
		q.off = map[string]bool{}
	}
	var unknown, bad []string
	for _, id := range slices.Sorted(maps.Keys(overrides)) {
		v := overrides[id]
		if _, ok := LookupCheck(id); !ok {
			unknown = append(unknown, id)
			continue
		}
		if strings.EqualFold(v, SeverityOff) {
			q.off[id] = true
			continue
		}
		s, err := ParseSeverity(v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s = %q", id, v))
			continue
		}
		q.severity[id] = s
		delete(q.off, id)
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, "unknown check IDs: "+strings.Join(unknown, ", "))
	}
	if len(bad) > 0 {
		msgs = append(msgs, "bad severities (want info, low, medium, high, critical or off): "+strings.Join(bad, ", "))
	}
	if len(msgs) > 0 {
		return Profile{}, errors.New(strings.Join(msgs, "; "))
	}
	return q, nil
}

// BuiltinProfileNames lists the built-in profiles.
func BuiltinProfileNames() []string {
	entries, _ := builtinFS.ReadDir("profiles")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return names
}

// BuiltinProfile returns a built-in profile by name. Built-in profiles
// give every check a severity (tested).
func BuiltinProfile(name string) (Profile, error) {
	data, err := builtinFS.ReadFile("profiles/" + name + ".toml")
	if err != nil || strings.ContainsAny(name, "/.") {
		return Profile{}, fmt.Errorf("unknown built-in profile %q (have: %s)", name, strings.Join(BuiltinProfileNames(), ", "))
	}
	f, err := decodeProfile("builtin:"+name, data)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{Name: f.Name, Description: f.Description, Source: "builtin"}
	p, err = p.apply(f)
	if err != nil {
		return Profile{}, fmt.Errorf("built-in profile %s: %w", name, err)
	}
	var missing []string
	for _, c := range catalogue {
		if _, ok := p.severity[c.ID]; !ok {
			missing = append(missing, c.ID)
		}
	}
	if len(missing) > 0 {
		return Profile{}, fmt.Errorf("built-in profile %s: no severity for %s", name, strings.Join(missing, ", "))
	}
	return p, nil
}

// LoadProfile reads a user profile file (TOML, same shape as the built-in
// profiles; see ParseProfile).
func LoadProfile(path string) (Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return Profile{}, fmt.Errorf("read profile: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProfileSize+1))
	if err != nil {
		return Profile{}, fmt.Errorf("read profile %s: %w", path, err)
	}
	if len(data) > maxProfileSize {
		return Profile{}, fmt.Errorf("read profile %s: larger than %d bytes", path, maxProfileSize)
	}
	return ParseProfile(path, data)
}

// ParseProfile parses a user profile. It starts from the built-in profile
// named by `base` (default "bcp195") and overrides the params and
// severities it sets:
//
//	base = "bcp195"
//	name = "acme"
//	[params]
//	expiry_warning_days = 45
//	[severity]
//	"tls.tls13" = "medium"
//	"cert.lifetime" = "off"
//
// Parsing is strict: unknown keys, unknown check IDs (all named in one
// error), bad severities and non-positive thresholds are errors. source
// names the file in errors and becomes Profile.Source.
func ParseProfile(source string, data []byte) (Profile, error) {
	f, err := decodeProfile(source, data)
	if err != nil {
		return Profile{}, err
	}
	base := f.Base
	if base == "" {
		base = DefaultProfile
	}
	p, err := BuiltinProfile(base)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: base: %w", source, err)
	}
	p.Source = source
	p.Name = f.Name
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	}
	p.Description = f.Description
	p, err = p.apply(f)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", source, err)
	}
	return p, nil
}

type profileFile struct {
	Base        string            `toml:"base"`
	Name        string            `toml:"name"`
	Description string            `toml:"description"`
	Params      paramsFile        `toml:"params"`
	Severity    map[string]string `toml:"severity"`
}

type paramsFile struct {
	ExpiryUrgentDays           *int    `toml:"expiry_urgent_days"`
	ExpiryWarningDays          *int    `toml:"expiry_warning_days"`
	MaxCertificateLifetimeDays *int    `toml:"max_certificate_lifetime_days"`
	MaxTicketLifetime          *string `toml:"max_ticket_lifetime"`
}

func decodeProfile(source string, data []byte) (profileFile, error) {
	var f profileFile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			var keys []string
			for _, e := range sm.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return f, fmt.Errorf("profile %s: unknown keys: %s", source, strings.Join(keys, ", "))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			msg := strings.TrimPrefix(de.Error(), "toml: ")
			if strings.HasPrefix(msg, "cannot decode") {
				// go-toml names Go types here; say it in the file's terms.
				msg = "wrong value type"
				if k := de.Key(); len(k) > 0 {
					msg += " for " + strings.Join(k, ".")
				}
			}
			return f, fmt.Errorf("profile %s: line %d, column %d: %s", source, row, col, msg)
		}
		return f, fmt.Errorf("profile %s: %w", source, err)
	}
	return f, nil
}

// apply sets f's params and severities on a copy of p.
func (p Profile) apply(f profileFile) (Profile, error) {
	q, err := p.Override(f.Severity)
	if err != nil {
		return Profile{}, err
	}
	pf := f.Params
	for _, x := range []struct {
		v   *int
		dst *int
	}{
		{pf.ExpiryUrgentDays, &q.Params.ExpiryUrgentDays},
		{pf.ExpiryWarningDays, &q.Params.ExpiryWarningDays},
		{pf.MaxCertificateLifetimeDays, &q.Params.MaxCertificateLifetimeDays},
	} {
		if x.v != nil {
			*x.dst = *x.v
		}
	}
	if pf.MaxTicketLifetime != nil {
		d, err := time.ParseDuration(*pf.MaxTicketLifetime)
		if err != nil {
			return Profile{}, fmt.Errorf("params.max_ticket_lifetime: %w", err)
		}
		q.Params.MaxTicketLifetime = d
	}
	if err := q.Params.validate(); err != nil {
		return Profile{}, err
	}
	return q, nil
}

func (pa Params) validate() error {
	switch {
	case pa.ExpiryUrgentDays <= 0, pa.ExpiryWarningDays <= 0, pa.MaxCertificateLifetimeDays <= 0, pa.MaxTicketLifetime <= 0:
		return errors.New("params: every threshold must be positive")
	case pa.ExpiryWarningDays < pa.ExpiryUrgentDays:
		return fmt.Errorf("params: expiry_warning_days (%d) is less than expiry_urgent_days (%d)", pa.ExpiryWarningDays, pa.ExpiryUrgentDays)
	}
	return nil
}
