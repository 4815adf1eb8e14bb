package enrol

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
)

// save stores the passwords (unless a password command gives them), the
// provisioning credential, and then the account, in that order: a config
// that names an account always has its secrets.
func save(ctx context.Context, path string, store secrets.Store, acct config.Account, xpw, spw string, prov *Provisioned) error {
	if acct.XMPP != nil && acct.XMPP.PasswordCommand == "" && xpw != "" {
		if err := store.Set(ctx, secrets.Ref{Account: acct.Name, Aspect: config.AspectXMPP}, xpw); err != nil {
			return fmt.Errorf("store chat password: %w", err)
		}
	}
	if acct.SIP != nil && acct.SIP.PasswordCommand == "" && spw != "" {
		if err := store.Set(ctx, secrets.Ref{Account: acct.Name, Aspect: config.AspectSIP}, spw); err != nil {
			return fmt.Errorf("store telephony password: %w", err)
		}
	}
	if err := prov.saveSecret(ctx, store, acct.Name); err != nil {
		return err
	}
	// Plaintext is a per-invocation decision (issue 13 item 9): it is
	// never saved, and one stored by an older cusax is dropped here.
	if acct.XMPP != nil {
		x := *acct.XMPP
		x.AllowPlaintext = false
		acct.XMPP = &x
	}
	if acct.SIP != nil {
		sp := *acct.SIP
		sp.AllowPlaintext = false
		acct.SIP = &sp
	}
	return config.Update(path, func(c *config.Config) error {
		prov.applyCalls(c)
		c.Upsert(acct)
		if c.Default == "" || len(c.Accounts) == 1 {
			c.Default = acct.Name
		}
		return nil
	})
}

// UsesCommands reports whether every aspect of a takes its password from a
// password command (then nothing was put in the secret store).
func UsesCommands(a config.Account) bool {
	return (a.XMPP == nil || a.XMPP.PasswordCommand != "") && (a.SIP == nil || a.SIP.PasswordCommand != "")
}
