package testbed

import (
	"context"
	"fmt"
)

// AddRosterContact adds contact (a bare JID) named name to user's roster on
// the bed's domain, as the server admin, and pushes the change to the
// user's connected resources that asked for the roster (RFC 6121 §2.1.6),
// as a change made from another of the user's clients would be.
func (b *Bed) AddRosterContact(ctx context.Context, user, contact, name string) error {
	chunk := fmt.Sprintf(`local rm = require "core.rostermanager";
local user, host, contact, name = %s, %s, %s, %s;
local roster, err = rm.load_roster(user, host);
if not roster then return false, "load roster: " .. tostring(err); end
roster[contact] = { subscription = "none"; name = name; groups = {} };
local ok, err = rm.save_roster(user, host, roster, contact);
if not ok then return false, "save roster: " .. tostring(err); end
rm.roster_push(user, host, contact);
return true, "added";
`, luaString(user), luaString(b.Domain), luaString(contact), luaString(name))
	if _, err := b.prosodyLua(ctx, chunk); err != nil {
		return fmt.Errorf("add %s to %s's roster: %w", contact, user, err)
	}
	return nil
}
