package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// extraUsers are the accounts added at run time (AddUsers, SeedLargeRoster), by name. Names
// are unique across the bed's domains, so a name alone identifies an account.
type extraUsers struct {
	mu        sync.Mutex
	m         map[string]account
	nextLarge int // number of the next SeedLargeRoster contact ("c%04d")
}

// reserve claims names for accounts to be created, or fails without claiming any.
func (e *extraUsers) reserve(b *Bed, accts []account) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	for _, a := range accts {
		if _, fixed := b.Users[a.Name]; fixed || seen[a.Name] {
			return fmt.Errorf("user %q exists already", a.Name)
		}
		if _, ok := e.m[a.Name]; ok {
			return fmt.Errorf("user %q exists already", a.Name)
		}
		seen[a.Name] = true
	}
	if e.m == nil {
		e.m = map[string]account{}
	}
	for _, a := range accts {
		e.m[a.Name] = a
	}
	return nil
}

func (e *extraUsers) release(accts []account) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range accts {
		delete(e.m, a.Name)
	}
}

// account returns the account of a user of the bed: one of Users or one added at run time.
func (b *Bed) account(name string) (account, bool) {
	if u, ok := b.Users[name]; ok {
		return account{Name: name, Domain: b.userDomain(name), Password: u.Password}, true
	}
	b.extra.mu.Lock()
	defer b.extra.mu.Unlock()
	a, ok := b.extra.m[name]
	return a, ok
}

// User returns a user of the bed by name: one of Users, or one added by AddUsers or
// SeedLargeRoster (whose passwords are only available this way). Use JID for its address.
func (b *Bed) User(name string) (User, bool) {
	a, ok := b.account(name)
	return User{Name: a.Name, Password: a.Password}, ok
}

// userByJID returns the name of the bed's account with that bare JID.
func (b *Bed) userByJID(bare string) (string, bool) {
	name, domain, ok := strings.Cut(bare, "@")
	if !ok {
		return "", false
	}
	a, found := b.account(name)
	if !found || a.Domain != domain {
		return "", false
	}
	return name, true
}

// userName is what AddUsers accepts: a localpart already in its canonical form (RFC 7622's
// PRECIS profile leaves it alone, so it is the name Prosody files it under) that is also a
// plain SIP user part and a plain Kamailio htable key. A leading '+' allows a user named by
// a global phone number (a gateway's caller, RFC 3966 style).
var userName = regexp.MustCompile(`^\+?[a-z0-9][a-z0-9._-]{0,63}$`)

// AddUsers creates accounts on one of the bed's XMPP domains while the bed runs, each with a
// random password, and returns them by name. Names must match ^\+?[a-z0-9][a-z0-9._-]{0,63}$ and
// be new to the whole bed (all domains). On Domain the users can also use SIP: they are
// added to Kamailio's in-memory user table through its JSON-RPC socket (htable.sets). On
// Domain2 and NoTLSDomain they are XMPP only, like dave and eve.
//
// The accounts are written straight into Prosody's storage (accounts/<name>.dat, SCRAM-SHA-1
// with Prosody's default 10,000 iterations): Prosody reads accounts at login, so no restart
// is needed, and this takes milliseconds where prosodyctl takes ~0.15 s per user. Users are never
// removed: they live as long as the bed. JID and User work for them; Users does not list
// them (Bed's fields never change after Start). On error nothing is left behind.
func (b *Bed) AddUsers(ctx context.Context, domain string, names ...string) (map[string]User, error) {
	switch domain {
	case b.Domain, b.Domain2, b.NoTLSDomain:
	default:
		return nil, fmt.Errorf("testbed: AddUsers: %q is not a domain of the bed (%s, %s or %s)", domain, b.Domain, b.Domain2, b.NoTLSDomain)
	}
	accts := make([]account, len(names))
	for i, n := range names {
		if !userName.MatchString(n) {
			return nil, fmt.Errorf("testbed: AddUsers: invalid user name %q (want %s)", n, userName)
		}
		accts[i] = account{Name: n, Domain: domain, Password: randomPassword()}
	}
	if err := b.createAccounts(ctx, accts); err != nil {
		return nil, fmt.Errorf("testbed: AddUsers: %w", err)
	}
	out := make(map[string]User, len(accts))
	for _, a := range accts {
		out[a.Name] = User{Name: a.Name, Password: a.Password}
	}
	return out, nil
}

// createAccounts reserves the names, writes the Prosody accounts and, for users of Domain,
// adds them to Kamailio. On error it undoes what it did.
func (b *Bed) createAccounts(ctx context.Context, accts []account) (err error) {
	if err := b.extra.reserve(b, accts); err != nil {
		return err
	}
	var files, inKamailio []string
	defer func() {
		if err != nil {
			for _, name := range inKamailio {
				_, _ = b.kamailioRPC(context.WithoutCancel(ctx), "htable.delete", "users", name)
			}
			removeFiles(files)
			b.extra.release(accts)
		}
	}()
	store, err := b.prosodyStore()
	if err != nil {
		return err
	}
	if files, err = store.writeAccounts(ctx, accts); err != nil {
		return err
	}
	for _, a := range accts {
		if a.Domain != b.Domain {
			continue
		}
		if _, err := b.kamailioRPC(ctx, "htable.sets", "users", a.Name, a.Password); err != nil {
			return err
		}
		inKamailio = append(inKamailio, a.Name)
	}
	return nil
}

// writeAccounts writes accounts/<name>.dat for each account. PBKDF2 is most of the cost
// (~1.7 ms per key at 10,000 iterations, five times that under -race), so the keys are
// computed once per distinct password, in parallel: accounts that share a password share
// its salt too. It returns the files it wrote, also on error, so that the caller can remove
// them; an existing account is an error.
func (p prosodyStore) writeAccounts(ctx context.Context, accts []account) ([]string, error) {
	domains := map[string]bool{}
	byPassword := map[string]int{}
	var passwords []string
	for _, a := range accts {
		if !domains[a.Domain] {
			if err := p.mkdirs(a.Domain, "accounts"); err != nil {
				return nil, err
			}
			domains[a.Domain] = true
		}
		if _, ok := byPassword[a.Password]; !ok {
			byPassword[a.Password] = len(passwords)
			passwords = append(passwords, a.Password)
		}
	}
	records := make([]string, len(passwords))
	err := parallel(ctx, len(passwords), func(i int) error {
		r, err := accountRecord(passwords[i], scramIterations)
		records[i] = "return " + luaSource(r) + ";\n"
		return err
	})
	if err != nil {
		return nil, err
	}
	files := make([]string, len(accts))
	err = parallel(ctx, len(accts), func(i int) error {
		a := accts[i]
		if err := p.create(a.Domain, "accounts", a.Name, "dat", records[byPassword[a.Password]]); err != nil {
			if errors.Is(err, os.ErrExist) {
				err = fmt.Errorf("user %s@%s exists already in Prosody", a.Name, a.Domain)
			}
			return err
		}
		files[i] = p.path(a.Domain, "accounts", a.Name, "dat")
		return nil
	})
	return slices.DeleteFunc(files, func(f string) bool { return f == "" }), err
}

func removeFiles(files []string) {
	for _, f := range files {
		_ = os.Remove(f)
	}
}
