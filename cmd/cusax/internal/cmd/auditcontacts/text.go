package auditcontacts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/auditview"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/contactaudit"
)

// writeText prints, per account, the failed and errored checks worst
// first, then the summary table (one row per account) and the verdict.
// Passed and skipped checks are in --json only.
func writeText(s *iostreams.IOStreams, facts []contactaudit.Facts, r audit.Report, header bool) error {
	w := s.Out
	for _, a := range facts {
		who := []string{}
		for _, v := range []string{a.JID, a.AOR} {
			if v != "" {
				who = append(who, v)
			}
		}
		fmt.Fprintf(w, "%s %s (%s)  %d contacts\n", s.Bold("Account"), cmdutil.TermSafe(a.Account), cmdutil.TermSafe(strings.Join(who, ", ")), len(a.Contacts))
		auditview.WriteFindings(w, s, auditview.Failed(r, a.Account))
		fmt.Fprintln(w)
	}
	t := cmdutil.NewTable(w, s.IsStdoutTTY(), "ACCOUNT", "CONTACTS", "PASSED", "FAILED", "ERRORED", "SKIPPED", "WORST")
	if header {
		t.TSVHeader("account", "contacts", "passed", "failed", "errored", "skipped", "worst")
	}
	for _, a := range facts {
		count := map[audit.Status]int{}
		worst := audit.Severity(0)
		for _, f := range r.Findings {
			if f.Account != a.Account {
				continue
			}
			count[f.Status]++
			if f.Status == audit.Fail && f.Severity > worst {
				worst = f.Severity
			}
		}
		ws := "-"
		if worst.Valid() {
			ws = worst.String()
		}
		t.Row(a.Account, strconv.Itoa(len(a.Contacts)), strconv.Itoa(count[audit.Pass]), strconv.Itoa(count[audit.Fail]),
			strconv.Itoa(count[audit.Error]), strconv.Itoa(count[audit.Skipped]), ws)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	sum := r.Summary
	verdict := map[int]string{audit.ExitOK: s.Green("OK"), audit.ExitWarning: s.Yellow("WARNING"),
		audit.ExitCritical: s.Red("CRITICAL"), audit.ExitUnknown: s.Yellow("UNKNOWN")}[sum.ExitCode]
	_, err := fmt.Fprintf(w, "%s %s  %d passed, %d failed, %d errored, %d skipped (warn-on %s, fail-on %s)\n",
		s.Bold("Result"), verdict, sum.Status[audit.Pass], sum.Status[audit.Fail], sum.Status[audit.Error],
		sum.Status[audit.Skipped], r.Policy.WarnOn, r.Policy.FailOn)
	return err
}
