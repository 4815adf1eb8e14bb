package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/core/safepath"
)

// StateVersion is the version of the state file format.
const StateVersion = 1

// StatePerm is the mode of the state file: it lists the servers a user
// talks to, which is nobody else's business.
const StatePerm fs.FileMode = 0o600

const maxStateSize = 16 << 20

// State remembers the certificate each endpoint served for each reference
// identity, so that an audit can warn when it changes (RFC 7590 §3.6: "Be
// warned if the certificate changes for a given server"). It is a small
// JSON file; see DefaultStatePath.
type State struct {
	Version int `json:"version"`
	// Certificates is keyed by StateKey(endpoint, identity).
	Certificates map[string]CertRecord `json:"certificates"`
}

// CertRecord is what was last seen on one endpoint for one identity.
type CertRecord struct {
	Endpoint   string    `json:"endpoint"`
	Identity   string    `json:"identity"`
	LeafSHA256 string    `json:"leaf_sha256"`
	SPKISHA256 string    `json:"spki_sha256,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
}

// StateKey is the key of an endpoint's record: one endpoint may serve
// different certificates for different domains (SNI, the XMPP 'to').
func StateKey(endpoint, identity string) string { return endpoint + " " + identity }

// DefaultStatePath returns $XDG_STATE_HOME/cusax/audit-state.json if
// XDG_STATE_HOME is absolute (the XDG spec says to ignore relative ones),
// else ~/.local/state/cusax/audit-state.json. It reads only the
// environment.
func DefaultStatePath() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "cusax", "audit-state.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find audit state file: %w", err)
	}
	return filepath.Join(home, ".local", "state", "cusax", "audit-state.json"), nil
}

// LoadState reads the state file at path. A missing file is an empty state
// (the first audit), not an error; a corrupt or newer-version file is an
// error naming the path, so a change is never missed silently.
//
// A state file that another user owns or others can write (or a directory
// above it) is refused with an error wrapping safepath.ErrUnsafe: whoever
// wrote it could make an intercepting certificate look already known.
func LoadState(path string) (*State, error) {
	if err := safepath.Check(path); err != nil && errors.Is(err, safepath.ErrUnsafe) {
		return nil, fmt.Errorf("audit state %s refused: %w", path, err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: StateVersion, Certificates: map[string]CertRecord{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("read audit state %s: %w", path, err)
	}
	if len(data) > maxStateSize {
		return nil, fmt.Errorf("read audit state %s: larger than %d bytes", path, maxStateSize)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read audit state %s: %w", path, err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("read audit state %s: version %d, want %d", path, s.Version, StateVersion)
	}
	if s.Certificates == nil {
		s.Certificates = map[string]CertRecord{}
	}
	return &s, nil
}

// Save writes the state to path atomically with mode 0600 (creating the
// directory with 0700), so an interrupted audit never leaves a torn file.
func (s *State) Save(path string) error {
	s.Version = StateVersion
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save audit state: %w", err)
	}
	return atomicfile.Write(path, append(data, '\n'), StatePerm)
}

// Compare reports, for every endpoint of facts that served a certificate,
// whether it is the one recorded by the last audit (check cert.changed). A
// first sighting passes and says so. Compare does not modify s; call
// Update after it to record what was seen.
func (s *State) Compare(facts AccountFacts, p Profile) []Finding {
	c, _ := LookupCheck(CheckCertChanged)
	sev, enabled := p.Severity(CheckCertChanged)
	if !sev.Valid() {
		sev = Info
	}
	var out []Finding
	for _, a := range aspectsOf(facts) {
		for _, ep := range a.facts.Endpoints {
			if ep.Cert == nil || ep.Cert.LeafSHA256 == "" {
				continue
			}
			f := Finding{ID: c.ID, Account: facts.Account, Aspect: a.aspect, Endpoint: ep.ID, Severity: sev, Title: c.Title, Ref: c.Ref}
			rec, seen := s.Certificates[StateKey(ep.ID, a.facts.Domain)]
			switch {
			case !enabled:
				f.Status, f.Evidence = Skipped, "disabled by profile "+p.Name
			case !seen:
				f.Status, f.Evidence = Pass, "first audit of this endpoint for "+a.facts.Domain+"; recorded sha256 "+ep.Cert.LeafSHA256
			case rec.LeafSHA256 == ep.Cert.LeafSHA256:
				f.Status, f.Evidence = Pass, fmt.Sprintf("same certificate since %s", rec.FirstSeen.UTC().Format(time.DateOnly))
			default:
				f.Status, f.Fix = Fail, c.Fix
				f.Evidence = fmt.Sprintf("sha256 %s (seen %s to %s) is now %s; %s",
					rec.LeafSHA256, rec.FirstSeen.UTC().Format(time.DateOnly), rec.LastSeen.UTC().Format(time.DateOnly),
					ep.Cert.LeafSHA256, changeClass(rec, ep.Cert))
			}
			f.retitle()
			out = append(out, f)
		}
	}
	return out
}

// changeClass tells a routine renewal (same key or same issuer) from a new
// issuer, which is what an interception would look like.
func changeClass(old CertRecord, c *CertFacts) string {
	switch {
	case old.SPKISHA256 != "" && old.SPKISHA256 == c.SPKISHA256:
		return "same key (re-issued)"
	case old.Issuer != "" && old.Issuer == c.Issuer:
		return "new key, same issuer"
	case old.Issuer != "" && c.Issuer != "":
		return fmt.Sprintf("new key and new issuer (%s, was %s)", c.Issuer, old.Issuer)
	}
	return "new certificate"
}

// Update records the certificates in facts as seen at facts.ObservedAt. A
// changed certificate replaces the record and restarts its first-seen time.
func (s *State) Update(facts AccountFacts) {
	if s.Certificates == nil {
		s.Certificates = map[string]CertRecord{}
	}
	for _, a := range aspectsOf(facts) {
		for _, ep := range a.facts.Endpoints {
			if ep.Cert == nil || ep.Cert.LeafSHA256 == "" {
				continue
			}
			key := StateKey(ep.ID, a.facts.Domain)
			rec, seen := s.Certificates[key]
			if !seen || rec.LeafSHA256 != ep.Cert.LeafSHA256 {
				rec = CertRecord{Endpoint: ep.ID, Identity: a.facts.Domain, LeafSHA256: ep.Cert.LeafSHA256,
					SPKISHA256: ep.Cert.SPKISHA256, Issuer: ep.Cert.Issuer, FirstSeen: facts.ObservedAt}
			}
			rec.LastSeen = facts.ObservedAt
			s.Certificates[key] = rec
		}
	}
}

type aspectFacts struct {
	aspect Aspect
	facts  AspectFacts
}

func aspectsOf(f AccountFacts) []aspectFacts {
	return []aspectFacts{{Chat, f.Chat}, {Telephony, f.Telephony}}
}
