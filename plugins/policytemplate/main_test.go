package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

func TestConformance(t *testing.T) { protocoltest.RunPolicy(t, nightOwl{refuse: "pstn"}) }

func TestRefusesAfterTheDefault(t *testing.T) {
	prior := protocol.Prior{Verdict: protocol.Allow, Policy: "default"}
	d, _ := nightOwl{refuse: "pstn"}.ApproveCost(context.Background(), protocol.CostRequest{PSTN: true, Prior: prior})
	if d.Verdict != protocol.Deny {
		t.Errorf("got %+v", d)
	}
}

// docs/plugins.md shows this file's code after its doc comment verbatim,
// so the page cannot drift from what compiles.
func TestDocShowsThisFile(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "package main"):]
	if !strings.Contains(string(doc), "```go\n"+code+"```\n") {
		t.Errorf("docs/plugins.md does not show plugins/policytemplate/main.go (from \"package main\") verbatim in a ```go block")
	}
}
