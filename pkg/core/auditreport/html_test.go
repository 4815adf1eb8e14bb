package auditreport

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport/reporttest"
)

func renderHTML(t *testing.T, in Input) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, in); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The page as written: every element closed (void elements aside), so the
// page does not rely on a browser's error recovery; then the DOM checks.
func TestHTMLWellFormed(t *testing.T) {
	in := fixture()
	page := renderHTML(t, in)
	void := map[atom.Atom]bool{atom.Meta: true, atom.Br: true, atom.Link: true, atom.Img: true, atom.Hr: true, atom.Input: true}
	var open []string
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if !void[tok.DataAtom] {
				open = append(open, tok.Data)
			}
		case html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, open)
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) != 0 {
		t.Fatalf("unclosed: %v", open)
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	checkDOM(t, doc, in)
}

// The page rendered by a real browser (Debian's chromium, headless): the
// DOM it built has the summary rows, every failed finding, and no script
// or element the hostile evidence and certificate subject tried to inject.
func TestHTMLInChromium(t *testing.T) {
	in := fixture()
	doc := reporttest.RenderDOM(t, []byte(renderHTML(t, in)))
	checkDOM(t, doc, in)
}

// checkDOM checks a parsed page against in.
func checkDOM(t *testing.T, doc *html.Node, in Input) {
	t.Helper()
	var rows, findings []*html.Node
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Img, atom.Iframe, atom.Object, atom.Embed, atom.Link, atom.Base, atom.Form, atom.I, atom.B:
				t.Errorf("forbidden element <%s> in the page", n.Data)
			}
			for _, a := range n.Attr {
				switch {
				case strings.HasPrefix(a.Key, "on"):
					t.Errorf("event handler %s=%q on <%s>", a.Key, a.Val, n.Data)
				case a.Key == "src", a.Key == "href" && !strings.HasPrefix(a.Val, "#"), a.Key == "action":
					t.Errorf("<%s %s=%q> points outside the page", n.Data, a.Key, a.Val)
				}
			}
			if n.DataAtom == atom.Tr && hasClass(n, "target-row") {
				rows = append(rows, n)
			}
			if n.DataAtom == atom.Tr && hasClass(n, "finding") {
				findings = append(findings, n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)

	// One summary row per target, in order, with its counts.
	targets := in.targets()
	if len(rows) != len(targets) {
		t.Fatalf("%d summary rows, want %d", len(rows), len(targets))
	}
	for i, r := range rows {
		cells := cellTexts(r)
		if cells[0] != targets[i] {
			t.Errorf("row %d is %q, want %q", i, cells[0], targets[i])
		}
	}
	//             target  crit high med low info err pass skip verdict
	want := []string{"work", "1", "1", "1", "0", "0", "1", "2", "1", "CRITICAL"}
	if got := cellTexts(rows[0]); !slices.Equal(got, want) {
		t.Errorf("summary row %q, want %q", got, want)
	}
	if got := cellTexts(rows[2]); got[len(got)-1] != "OK" || got[7] != "0" {
		t.Errorf("target without findings: %q", got)
	}

	// Every failed and errored finding has its row, with evidence, ref, fix.
	var wantIDs, gotIDs []string
	for _, f := range in.Report.Findings {
		if f.Status == audit.Fail || f.Status == audit.Error {
			wantIDs = append(wantIDs, f.Account+" "+f.ID)
		}
	}
	for _, f := range findings {
		gotIDs = append(gotIDs, sectionOf(f)+" "+attr(f, "data-check"))
	}
	slices.Sort(wantIDs)
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("finding rows %q, want %q", gotIDs, wantIDs)
	}
	all := text.String()
	for _, f := range in.Report.Findings {
		if f.Status != audit.Fail && f.Status != audit.Error {
			continue
		}
		for _, s := range []string{f.Title, f.Evidence, f.Ref, f.Fix} {
			if s = strings.ToValidUTF8(s, "\uFFFD"); !strings.Contains(all, s) {
				t.Errorf("%s: %q not shown as text", f.ID, s)
			}
		}
	}
	// The hostile strings are there, as text.
	for _, s := range []string{"<script>alert(1)</script>", "CN=<img src=https://evil.example/x.png>", "legacy phones"} {
		if !strings.Contains(all, s) {
			t.Errorf("%q not shown as text", s)
		}
	}
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func cellTexts(tr *html.Node) []string {
	var out []string
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.DataAtom == atom.Td || c.DataAtom == atom.Th) {
			out = append(out, textOf(c))
		}
	}
	return out
}

// sectionOf is the target heading of the section a finding row is in.
func sectionOf(n *html.Node) string {
	for ; n != nil; n = n.Parent {
		if n.DataAtom == atom.Section {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.DataAtom == atom.H2 {
					for t := c.FirstChild; t != nil; t = t.NextSibling {
						if t.Type == html.TextNode {
							return strings.TrimSpace(t.Data)
						}
					}
				}
			}
		}
	}
	return ""
}
