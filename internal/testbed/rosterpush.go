package testbed

import (
	"context"
	"fmt"
)

// AddRosterContact adds contact (a bare JID) named name to user's roster on
// the bed's domain, as the server admin. With push, the change is pushed to
// the user's connected resources that asked for the roster (RFC 6121
// §2.1.6), as a change made from another of the user's clients would be;
// without, nobody connected hears of it (a push missed while away).
func (b *Bed) AddRosterContact(ctx context.Context, user, contact, name string, push bool) error {
	chunk := fmt.Sprintf(`local rm = require "core.rostermanager";
local user, host, contact, name = %s, %s, %s, %s;
local roster, err = rm.load_roster(user, host);
if not roster then return false, "load roster: " .. tostring(err); end
roster[contact] = { subscription = "none"; name = name; groups = {} };
local ok, err = rm.save_roster(user, host, roster, contact);
if not ok then return false, "save roster: " .. tostring(err); end
if %t then rm.roster_push(user, host, contact); end
return true, "added";
`, luaString(user), luaString(b.Domain), luaString(contact), luaString(name), push)
	if _, err := b.prosodyLua(ctx, chunk); err != nil {
		return fmt.Errorf("add %s to %s's roster: %w", contact, user, err)
	}
	return nil
}
