package xmpp

import (
	"crypto/tls"
	"errors"
	"slices"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestMechanismPreference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		invalid bool
	}{
		{"default", nil, defaultMechanisms, false},
		{"case and duplicates", []string{"scram-sha-1", " PLAIN ", "SCRAM-SHA-1"}, []string{"SCRAM-SHA-1", "PLAIN"}, false},
		{"plus only", []string{"SCRAM-SHA-256-PLUS"}, []string{"SCRAM-SHA-256-PLUS"}, false},
		{"unknown", []string{"SCRAM-SHA-1", "DIGEST-MD5"}, nil, true},
		{"anonymous refused", []string{"ANONYMOUS"}, nil, true},
		{"empty name", []string{""}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mechanismPreference(tc.in)
			if tc.invalid {
				if !errors.Is(err, protocol.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// The default must not be shared with callers.
	got, _ := mechanismPreference(nil)
	got[0] = "X"
	if defaultMechanisms[0] == "X" {
		t.Fatal("mechanismPreference returned the package default itself")
	}
}

func TestOrderMechanisms(t *testing.T) {
	tls12 := channelBinding{tlsVersion: tls.VersionTLS12, tlsUnique: true}
	tls13 := channelBinding{tlsVersion: tls.VersionTLS13}
	for _, tc := range []struct {
		name       string
		pref       []string
		cb         channelBinding
		allowPlain bool
		want       []string
		noted      bool
	}{
		{"TLS 1.2 with tls-unique keeps -PLUS first", defaultMechanisms, tls12, false, defaultMechanisms, false},
		{"TLS 1.3 without XEP-0440 demotes -PLUS", defaultMechanisms, tls13, false,
			[]string{"SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "PLAIN"}, true},
		{"TLS 1.3 with tls-exporter keeps -PLUS", defaultMechanisms,
			channelBinding{tlsVersion: tls.VersionTLS13, advertised: []string{"tls-server-end-point", "tls-exporter"}}, false,
			defaultMechanisms, false},
		{"TLS 1.2 without tls-unique data", defaultMechanisms, channelBinding{tlsVersion: tls.VersionTLS12}, false,
			[]string{"SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "PLAIN"}, true},
		{"TLS 1.2, XEP-0440 without tls-unique", defaultMechanisms,
			channelBinding{tlsVersion: tls.VersionTLS12, tlsUnique: true, advertised: []string{"tls-exporter"}}, false,
			[]string{"SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "PLAIN"}, true},
		{"no TLS drops PLAIN", defaultMechanisms, channelBinding{}, false,
			[]string{"SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"}, true},
		{"no TLS with AllowPlaintext keeps PLAIN", []string{"SCRAM-SHA-1", "PLAIN"}, channelBinding{}, true,
			[]string{"SCRAM-SHA-1", "PLAIN"}, false},
		{"explicit -PLUS only stays", []string{"SCRAM-SHA-1-PLUS"}, tls13, false, []string{"SCRAM-SHA-1-PLUS"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, note := orderMechanisms(tc.pref, tc.cb, tc.allowPlain)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if (note != "") != tc.noted {
				t.Errorf("note = %q, want a note: %v", note, tc.noted)
			}
		})
	}
}

func TestSelectMechanism(t *testing.T) {
	for _, tc := range []struct {
		client, offered []string
		want            string
	}{
		// The client's order decides, not the server's.
		{defaultMechanisms, []string{"PLAIN", "SCRAM-SHA-1"}, "SCRAM-SHA-1"},
		{defaultMechanisms, []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "PLAIN"}, "SCRAM-SHA-1-PLUS"},
		{[]string{"SCRAM-SHA-256"}, []string{"PLAIN", "SCRAM-SHA-1"}, ""},
		{[]string{"PLAIN"}, []string{"plain"}, "PLAIN"},
		{defaultMechanisms, nil, ""},
	} {
		if got := selectMechanism(tc.client, tc.offered); got != tc.want {
			t.Errorf("selectMechanism(%v, %v) = %q, want %q", tc.client, tc.offered, got, tc.want)
		}
	}
}
