package enrol

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/provision"
	"github.com/cusax/cusax/pkg/core/secrets"
)

// Report says where a provisioned account came from and what a refresh
// changed (the "provisioning" object of login --json).
type Report struct {
	URL      string             `json:"url"`
	Provider string             `json:"provider,omitempty"`
	Auth     string             `json:"auth"`
	User     string             `json:"user,omitempty"`
	SHA256   string             `json:"document_sha256"`
	Refresh  bool               `json:"refresh"`
	Changes  []provision.Change `json:"changes"`
	Warnings []string           `json:"warnings"`
}

// Normalized returns r with empty lists instead of nil ones (JSON []).
func (r Report) Normalized() Report {
	if r.Changes == nil {
		r.Changes = []provision.Change{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return r
}

// Provisioned is what a provider's document adds to a login: the secret
// for the provisioning server, the [calls] settings, the TLS floor, and
// what to report.
type Provisioned struct {
	Report Report
	// MinTLS is the document's TLS floor ("" for none).
	MinTLS string
	secret string               // stored under config.AspectProvisioning when keep
	keep   bool                 // store secret (not from a command)
	calls  *config.CallSettings // [calls] with the document's cost gate applied
}

func (p *Provisioned) saveSecret(ctx context.Context, store secrets.Store, account string) error {
	if p == nil || !p.keep || p.secret == "" {
		return nil
	}
	if err := store.Set(ctx, secrets.Ref{Account: account, Aspect: config.AspectProvisioning}, p.secret); err != nil {
		return fmt.Errorf("store provisioning credential: %w", err)
	}
	return nil
}

func (p *Provisioned) applyCalls(c *config.Config) {
	if p != nil && p.calls != nil {
		c.Calls = *p.calls
	}
}
