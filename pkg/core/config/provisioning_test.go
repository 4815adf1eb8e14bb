package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestProvisioningRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	a := validAccount()
	a.Provisioning = &Provisioning{
		URL: "https://prov.example.test/alice.json", Auth: "basic", Username: "alice",
		Provider: "Example Telecom", ETag: `"v1"`, LastModified: "Mon, 23 Nov 2026 10:00:00 GMT",
		Fetched:        time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		DocumentSHA256: "00ff", MinTLS: "1.3", RefreshAfter: "24h",
		CostAllow: []string{"tel:+4930*"}, Region: "DE",
	}
	b := validAccount()
	b.Name = "manual"
	in := &Config{Version: CurrentVersion, Accounts: []Account{a, b}}
	if err := Save(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Accounts[0].Provisioning, a.Provisioning) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out.Accounts[0].Provisioning, a.Provisioning)
	}
	if out.Accounts[1].Provisioning != nil {
		t.Errorf("a hand-made account came back provisioned: %+v", out.Accounts[1].Provisioning)
	}
}
