package audittls

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/auditview"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/audit"
)

// writeText prints the readable report: per account and aspect the RFC
// 7590 §3.6 human factors, then the failed and errored checks, worst first,
// then the verdict. Passed and skipped checks are in --json only.
func writeText(s *iostreams.IOStreams, accounts []audit.AccountFacts, r audit.Report) error {
	w := s.Out
	for _, a := range accounts {
		fmt.Fprintf(w, "%s %s\n", s.Bold("Account"), a.Account)
		for _, asp := range []struct {
			label string
			facts audit.AspectFacts
		}{{"Chat", a.Chat}, {"Telephony", a.Telephony}} {
			aspect(w, s, asp.label, asp.facts, a.ObservedAt)
		}
		auditview.WriteFindings(w, s, auditview.Failed(r, a.Account))
		fmt.Fprintln(w)
	}
	sum := r.Summary
	verdict := map[int]string{audit.ExitOK: s.Green("OK"), audit.ExitWarning: s.Yellow("WARNING"),
		audit.ExitCritical: s.Red("CRITICAL"), audit.ExitUnknown: s.Yellow("UNKNOWN")}[sum.ExitCode]
	_, err := fmt.Fprintf(w, "%s %s  %d passed, %d failed, %d errored, %d skipped (profile %s, warn-on %s, fail-on %s)\n",
		s.Bold("Result"), verdict, sum.Status[audit.Pass], sum.Status[audit.Fail], sum.Status[audit.Error],
		sum.Status[audit.Skipped], r.Policy.Profile, r.Policy.WarnOn, r.Policy.FailOn)
	return err
}

// aspect prints the human factors of RFC 7590 §3.6 for one aspect.
func aspect(w io.Writer, s *iostreams.IOStreams, label string, a audit.AspectFacts, now time.Time) {
	if len(a.Endpoints) == 0 {
		fmt.Fprintf(w, "  %-10s not configured\n", label)
		return
	}
	for _, ep := range a.Endpoints {
		fmt.Fprintf(w, "  %s %s\n", s.Bold(fmt.Sprintf("%-10s", label)), ep.ID)
		row := func(k, v string) { fmt.Fprintf(w, "    %-12s %s\n", k, v) }
		if ep.Error != "" {
			row("probe", s.Yellow("failed: "+ep.Error))
			continue
		}
		t := ep.TLS
		if t == nil {
			row("encrypted", s.Red("no")+" ("+ep.NoTLS+")")
			if ca := clientAuth(ep); ca != "" {
				row("client auth", ca)
			}
			continue
		}
		enc := s.Green("yes")
		if st := ep.Stream; st != nil && !st.StartTLSRequired {
			enc = s.Yellow("yes, but STARTTLS is not required (plaintext allowed)")
		}
		row("encrypted", enc)
		row("tls", audit.VersionName(t.NegotiatedVersion)+"  "+t.NegotiatedSuite)
		c := ep.Cert
		if c == nil {
			row("server auth", s.Red("no certificate"))
			continue
		}
		switch {
		case c.AuthenticatedBy != "":
			by := c.AuthenticatedBy
			if c.IdentityBy != "" {
				by += ", " + c.IdentityBy + " for " + a.Domain
			}
			row("server auth", s.Green(by))
		default:
			var why []string
			for _, e := range []string{c.TrustError, c.IdentityError} {
				if e != "" {
					why = append(why, e)
				}
			}
			row("server auth", s.Red("not authenticated")+" ("+strings.Join(why, "; ")+")")
		}
		if ca := clientAuth(ep); ca != "" {
			row("client auth", ca)
		}
		row("certificate", c.Subject)
		row("issuer", c.Issuer)
		row("expires", fmt.Sprintf("%s (%s)", c.NotAfter.UTC().Format(time.DateOnly), until(c.NotAfter, now)))
		row("sha256", c.LeafSHA256)
	}
	if len(a.PlaintextTransports) > 0 {
		fmt.Fprintf(w, "    %-12s %s\n", "plaintext", s.Red(strings.Join(a.PlaintextTransports, ", ")))
	}
}

// clientAuth says how the server would authenticate the user (RFC 7081
// §7 compares the aspects on it): the SASL mechanisms on the stream the
// credentials would be sent on, or the SIP challenges.
func clientAuth(ep audit.EndpointFacts) string {
	if st := ep.Stream; st != nil {
		mechs := st.PostTLSMechanisms
		where := ""
		if ep.TLS == nil {
			mechs, where = st.PreTLSMechanisms, " (in the clear)"
		}
		if len(mechs) > 0 {
			return "SASL " + strings.Join(mechs, " ") + where
		}
		return ""
	}
	sp := ep.SIP
	switch {
	case sp == nil:
		return ""
	case sp.Challenges == nil:
		return "unknown: " + sp.Response
	case len(sp.Challenges) == 0:
		return "none asked (" + sp.Response + ")"
	}
	var out []string
	for _, c := range sp.Challenges {
		d := c.Scheme
		if strings.EqualFold(c.Scheme, "Digest") {
			alg := c.Algorithm
			if alg == "" {
				alg = "MD5"
			}
			d += " " + alg
			if len(c.QOP) > 0 {
				d += " qop=" + strings.Join(c.QOP, ",")
			}
		}
		out = append(out, d)
	}
	return strings.Join(out, "; ")
}

func until(t, now time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return fmt.Sprintf("expired %d days ago", int(-d.Hours()/24))
	}
	if d < 48*time.Hour {
		return fmt.Sprintf("in %d hours", int(d.Hours()))
	}
	return fmt.Sprintf("in %d days", int(d.Hours()/24))
}
