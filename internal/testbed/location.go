package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Bindings returns the contacts Kamailio's registrar holds for user (the
// user part of the AOR: usrloc runs without use_domain), from its
// location table (RPC ul.lookup); none is 0, not an error.
func (b *Bed) Bindings(ctx context.Context, user string) ([]string, error) {
	res, err := b.kamailioRPC(ctx, "ul.lookup", "location", user)
	if err != nil {
		if strings.Contains(err.Error(), "404") || strings.Contains(strings.ToLower(err.Error()), "not found") {
			return nil, nil
		}
		return nil, err
	}
	var v struct {
		AoR      string `json:"AoR"`
		Contacts []struct {
			Contact struct {
				Address string `json:"Address"`
			} `json:"Contact"`
		} `json:"Contacts"`
	}
	if err := json.Unmarshal(res, &v); err != nil {
		return nil, fmt.Errorf("ul.lookup %s: %s: %w", user, res, err)
	}
	var out []string
	for _, c := range v.Contacts {
		out = append(out, c.Contact.Address)
	}
	return out, nil
}
