package session

import (
	"testing"

	"github.com/cusax/cusax/pkg/core/config"
)

// The provider's min_tls is a floor --min-tls can raise but not lower.
func TestRequestMinTLS(t *testing.T) {
	prov := func(v string) config.Account {
		return config.Account{Provisioning: &config.Provisioning{URL: "https://p.example/x", MinTLS: v}}
	}
	for _, c := range []struct {
		acct       config.Account
		flag, want string
	}{
		{config.Account{}, "", ""},
		{config.Account{}, "1.3", "1.3"},
		{prov("1.3"), "", "1.3"},
		{prov("1.3"), "1.2", "1.3"},
		{prov("1.2"), "1.3", "1.3"},
		{prov(""), "1.2", "1.2"},
	} {
		if got := (Request{Account: c.acct, MinTLS: c.flag}).minTLS(); got != c.want {
			t.Errorf("provider %q, flag %q: %q, want %q", c.acct.MinTLS(), c.flag, got, c.want)
		}
	}
}
