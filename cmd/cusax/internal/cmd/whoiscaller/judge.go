package whoiscaller

import (
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/core/addressbook"
	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/callerid/numbers"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/vcardcache"
)

// judge holds what judging calls needs, fetched on first use: an anonymous
// caller needs nothing, a hinted one one vCard (none when cached), and
// only a call without a hint the whole roster's vCards, indexed once.
type judge struct {
	o     *Options
	acct  config.Account
	sess  *session.ChatSession
	cache *vcardcache.Cache
	index *callerid.Index

	// With a region, national numbers are converted to E.164 by
	// cusax-numbers, in one run per batch of new numbers; table keeps
	// the answers (the index holds the same map, so it sees new ones).
	region string
	table  numbers.Table
	warned bool
	// unresolved: the last call judged had national numbers that could
	// not be converted (shown as numbers_unresolved in --json).
	unresolved bool
}

func newJudge(o *Options, acct config.Account, region string) *judge {
	return &judge{o: o, acct: acct, region: region, table: numbers.Table{}}
}

// norm is the number normaliser judgements use.
func (j *judge) norm() callerid.NumberNormalizer {
	if j.region == "" {
		return callerid.GlobalOnly
	}
	return j.table
}

// prepare converts the national numbers the call and entries will need
// (RFC 3966 local numbers compared as E.164 in the user's region).
func (j *judge) prepare(call callerid.Call, entries []callerid.Entry) {
	if j.region == "" {
		return
	}
	rec := &numbers.Recorder{}
	for _, a := range append([]string{call.Caller}, call.Asserted...) {
		callerid.CallerKey(a, rec)
	}
	callerid.NewIndex(entries, rec)
	var todo []string
	for _, n := range rec.Numbers() {
		if _, done := j.table[n]; !done {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return
	}
	program, err := numbers.Find()
	if err == nil {
		var t numbers.Table
		if t, err = numbers.Convert(j.o.F.Context, program, j.region, todo); err == nil {
			for _, n := range todo {
				j.table[n] = t[n] // "" marks a number that has no E.164 form
			}
			return
		}
	}
	// Said once per run, and on every verdict in --json: a release
	// without cusax-numbers must not look like a caller nobody knows.
	j.unresolved = true
	if !j.warned {
		j.warned = true
		fmt.Fprintf(j.o.F.IO.ErrOut, "cusax: warning: national numbers are not resolved: %v\n", err)
	}
}

func (j *judge) close() {
	if j.sess != nil {
		j.sess.Shutdown()
	}
}

// chat logs into the account's XMPP aspect once.
func (j *judge) chat() (*session.ChatSession, error) {
	if j.sess != nil {
		return j.sess, nil
	}
	if j.acct.XMPP == nil {
		return nil, cmdutil.Usagef("account %s has no XMPP roster to judge callers against", j.acct.Name)
	}
	sess, err := j.o.F.OpenChat(j.acct, j.o.Timeout)
	if err != nil {
		return nil, err
	}
	j.sess = sess
	root, err := vcardcache.Dir()
	if err == nil {
		j.cache = vcardcache.Open(root, j.acct.Name, j.o.TTL)
	}
	return sess, nil
}

// contacts fetches roster entries with their vCards: only the given JIDs,
// or all of them when only is nil.
func (j *judge) contacts(only []string) ([]callerid.Entry, error) {
	sess, err := j.chat()
	if err != nil {
		return nil, err
	}
	list, err := addressbook.Build(j.o.F.Context, sess, sess.Info, addressbook.Options{
		AccountDomain: domainOf(j.acct.XMPP.JID), Cache: j.cache, Refresh: j.o.Refresh, Only: only,
	})
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	out := make([]callerid.Entry, 0, len(list))
	for _, c := range list {
		if c.VCardError != "" {
			fmt.Fprintf(j.o.F.IO.ErrOut, "cusax: warning: vCard of %s: %s\n", c.JID, c.VCardError)
		}
		out = append(out, callerid.Entry{JID: c.JID, Name: c.Name, Card: c.Card})
	}
	return out, nil
}

// judge decides one call. RFC 7081 §3.5: with a hint, only the hinted
// contacts' vCards are consulted (no roster walk); without one, the index
// of every contact's TELs, built once per run.
func (j *judge) judge(call callerid.Call) (callerid.Result, error) {
	j.unresolved = false
	if call.Anonymous {
		empty := callerid.NewIndex(nil, callerid.GlobalOnly)
		return callerid.Judge(call, empty, func(string) (callerid.Entry, bool) { return callerid.Entry{}, false }), nil
	}
	if len(call.Hints) > 0 {
		entries, err := j.contacts(call.Hints)
		if err != nil {
			return callerid.Result{}, err
		}
		j.prepare(call, entries)
		empty := callerid.NewIndex(nil, j.norm())
		return callerid.Judge(call, empty, hintLookup(entries)), nil
	}
	if j.index == nil {
		entries, err := j.contacts(nil)
		if err != nil {
			return callerid.Result{}, err
		}
		j.prepare(call, entries)
		j.index = callerid.NewIndex(entries, j.norm())
	} else {
		j.prepare(call, nil) // the caller's number only; the map is shared
	}
	return callerid.Judge(call, j.index, func(string) (callerid.Entry, bool) { return callerid.Entry{}, false }), nil
}

// hintLookup finds a hinted contact among entries. JIDs are compared with
// address.BareKey: the hint's domain may be spelt in another case or IDN
// form than the roster's (issue 14); strings.ToLower alone missed
// bob@BÜCHER.example against bob@xn--bcher-kva.example.
func hintLookup(entries []callerid.Entry) func(string) (callerid.Entry, bool) {
	byJID := map[string]callerid.Entry{}
	for _, e := range entries {
		byJID[address.BareKey(e.JID)] = e
	}
	return func(jid string) (callerid.Entry, bool) {
		e, ok := byJID[address.BareKey(jid)]
		return e, ok
	}
}

// domainOf is the account's domain for the §5 cues, in pkg/address's one
// form (contacts.Derive compares with address.SameDomain); "" when the
// JID has none, which turns the cue off.
func domainOf(jid string) string {
	d, _ := address.DomainOf(jid)
	return d
}

// output is one judged call as printed.
type output struct {
	callerid.Result
	CallID   string `json:"call_id,omitempty"`
	Remote   string `json:"remote,omitempty"`
	Answered string `json:"answered,omitempty"`
	Chatted  bool   `json:"chatted,omitempty"`
	// NumbersUnresolved: national numbers were compared as written, so
	// an "unknown" may be a contact whose number is written nationally.
	NumbersUnresolved bool    `json:"numbers_unresolved,omitempty"`
	ElapsedMS         float64 `json:"elapsed_ms"`
}

func printResult(o *Options, out output) error {
	io := o.F.IO
	if out.Verdict == "mismatch" {
		// Loudly, and on stderr even with --json: a possible spoof.
		fmt.Fprintf(io.ErrOut, "cusax: warning: the caller claims to be %s, but that contact's vCard does not list %s: possible spoof (RFC 6993 §4)\n", out.Hint, out.Caller)
	}
	if o.JSON && o.Listen {
		return cmdutil.WriteJSONLine(io.Out, out)
	}
	if o.JSON {
		return cmdutil.WriteJSON(io.Out, out)
	}
	v := string(out.Verdict)
	switch v {
	case "verified", "verified-by-scan":
		v = io.Green(v)
	case "mismatch":
		v = io.Red(v)
	default:
		v = io.Yellow(v)
	}
	who := out.Caller
	if out.JID != "" {
		who = fmt.Sprintf("%s <%s> (caller %s)", out.Name, out.JID, out.Caller)
	}
	fmt.Fprintf(io.Out, "%s\t%s\n", v, who)
	if out.Hint != "" {
		fmt.Fprintf(io.Out, "hint\t%s\n", out.Hint)
	}
	if out.MatchedTel != "" {
		fmt.Fprintf(io.Out, "matched\t%s (%s)\n", out.MatchedTel, out.Source)
	}
	if out.CallerSource == callerid.SourcePAI {
		fmt.Fprintf(io.Out, "identity\tP-Asserted-Identity from the account's proxy, trusted by trust_asserted_identity (RFC 3325 §9.1)\n")
	}
	for _, u := range out.Unasserted {
		fmt.Fprintf(io.Out, "claimed\t%s (P-Asserted-Identity, not trusted: not judged)\n", u)
	}
	return nil
}
