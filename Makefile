# cusax — two commands on a fresh machine:
#   make demo   start local Prosody + Kamailio and run the main flow against them
#   make test   unit, integration (real servers) and plugin conformance tests
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/cusax/cusax/cmd/cusax/internal/cli.Version=$(VERSION)
PKGS    := ./...

.PHONY: all build plugins deps test test-short vet fmt-check demo generate fuzz bench bench-answer bench-srtp bench-startup bench-agent compare-testssl docs clean soak release-snapshot release-check release-goreleaser-snapshot licenses

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/cusax ./cmd/cusax
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/cusax-numbers ./cmd/cusax-numbers
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/cusax-jq ./cmd/cusax-jq

# The built-in backends also build as standalone plugin binaries.
plugins:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./plugins/xmpp/cmd/... ./plugins/sip/cmd/... ./plugins/sipmessage/cmd/... ./plugins/policy/cmd/... ./plugins/example-policy/cmd/... ./plugins/tollguard/cmd/...

# Everything the tests need that is not in the repo: Debian packages for
# the test bed (Prosody, Kamailio + TLS modules, sipp, …) and Go modules.
deps:
	scripts/testbed/install.sh
	$(GO) mod download

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# CI=true makes a missing server a failure rather than a skip. The
# real-binary package runs as two shards beside the rest (scripts/test.sh). Every test
# bed appends a line to the run log; it is printed at the end to show which
# real servers ran and how much they were used.
RUNLOG := $(CURDIR)/bin/testbed-runs.log
test: deps fmt-check vet
	@mkdir -p $(BIN); rm -f $(RUNLOG)
	CI=$${CI:-true} CUSAX_TESTBED_RUNLOG=$(RUNLOG) GO=$(GO) scripts/test.sh
	@echo "== real servers used by this run:"; cat $(RUNLOG) 2>/dev/null || { echo "no test bed ran"; exit 1; }

test-short:
	$(GO) test -short -count=1 $(PKGS)

demo: deps build plugins
	scripts/demo.sh

# Regenerate the gRPC code from pkg/protocol/proto (generated code is
# committed, so only plugin-contract authors need this).
generate:
	scripts/generate.sh

# Every fuzz target for FUZZTIME each (go test -fuzz takes one target at a
# time). Corpora found worth keeping live in each package's testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	@set -e; for pkg in $$(git grep -l -E '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h -o -E '^func Fuzz[A-Za-z0-9]+' $$pkg/*_test.go | cut -d' ' -f2); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./$$pkg; \
		done; \
	done

# Command reference from the cobra tree (docs/commands) and man pages (bin/man).
docs:
	$(GO) run ./cmd/cusax/internal/gendocs docs/commands $(BIN)/man

# The linux/amd64 release artefacts of .goreleaser.yaml, built without
# goreleaser (nfpm for deb/rpm, cyclonedx-gomod for SBOMs) into
# dist/snapshot; internal/releasetest installs and runs them in make test.
release-snapshot:
	scripts/release/snapshot.sh dist/snapshot

# goreleaser's own check of .goreleaser.yaml, where goreleaser is installed
# (not part of make test: the module proxy serves no approved release of it).
release-check:
	goreleaser check

# The full goreleaser snapshot (all platforms) into dist/, where goreleaser,
# nfpm and cyclonedx-gomod are installed; not part of make test.
release-goreleaser-snapshot:
	goreleaser release --snapshot --clean

# docs/licenses.md from the module cache (a test fails when it is stale).
licenses:
	$(GO) run ./scripts/release/licenses > docs/licenses.md.tmp && mv docs/licenses.md.tmp docs/licenses.md

bench:
	scripts/bench.sh

# `cusax answer` under load (issue 15): 50 sipp calls at 2/s, --concurrency
# 4; outcomes, INVITE→200 median/p99, RTP jitter (docs/benchmarks.md).
bench-answer:
	scripts/bench-answer.sh

# `cusax audit-contacts --all` over 100 bed accounts sharing 5 contacts:
# wall time, Prosody logins/IQs, Kamailio requests (issue 20;
# docs/benchmarks.md). Not part of make test.
bench-audit-contacts:
	CI=true $(GO) test -count=1 -run '^$$' -bench AuditContacts100 -benchtime 1x -timeout 20m ./cmd/cusax/internal/cli

# Call set-up with SDES-SRTP vs plain RTP, 20 calls each, alternating, to
# one baresip through Kamailio over TLS (issue 16; docs/benchmarks.md).
bench-srtp:
	$(GO) test -run '^$$' -bench DialSetupSRTP -benchtime 1x -timeout 10m ./plugins/sip

# Start-up cost of this tree against BASE (default: b48cd5f): wall time of
# `cusax version` and `cusax chat bob hi`, and binary size (issue 14).
bench-startup:
	scripts/bench-startup.sh

# Issue 17's must-show: `cusax chat bob hi` through the agent vs --no-agent
# vs go-sendxmpp, N runs each, alternating; the agent's RSS with three
# accounts (docs/benchmarks.md).
bench-agent:
	scripts/bench-agent.sh

# `cusax audit-tls` and testssl.sh side by side on the same endpoints
# (docs/audit-tls-vs-testssl.md). Installs the Debian package testssl.sh
# when missing (not part of `make deps`: CI does not run this). Takes
# several minutes; TESTSSL_TABLE is where the agreement table goes.
TESTSSL_TABLE ?= $(CURDIR)/bin/audit-tls-vs-testssl.md
compare-testssl:
	@mkdir -p $(BIN)
	CUSAX_TESTSSL_TABLE=$(TESTSSL_TABLE) $(GO) test -run '^$$' -bench AuditVsTestssl -benchtime 1x -timeout 90m -v ./cmd/cusax/internal/cli

# Fault-and-load run against the real test bed (docs/soak.md), not part of
# `make test`: floods with a slow reader, kill -9, server restarts, hostile
# plugin dirs; prints a Markdown table of sent, received, lost, duplicated.
# SOAK_STRICT=1 fails the run on any loss, duplicate or leftover.
SOAK_ROUNDS   ?= 2
SOAK_SECONDS  ?= 240
SOAK_MESSAGES ?= 200
SOAK_UDP_WAIT ?= 0
SOAK_DIR      ?= $(CURDIR)/$(BIN)/soak
soak: build
	@rm -rf $(SOAK_DIR); mkdir -p $(SOAK_DIR)
	CUSAX_SOAK=1 CUSAX_BIN=$(CURDIR)/$(BIN)/cusax SOAK_ROUNDS=$(SOAK_ROUNDS) SOAK_SECONDS=$(SOAK_SECONDS) \
		SOAK_MESSAGES=$(SOAK_MESSAGES) SOAK_UDP_WAIT=$(SOAK_UDP_WAIT) SOAK_LOGDIR=$(SOAK_DIR)/logs SOAK_TABLE=$(SOAK_DIR)/table.md \
		$(GO) test -count=1 -timeout 20m -run '^TestSoak$$' -v ./internal/soak > $(SOAK_DIR)/test.log 2>&1; \
	status=$$?; cat $(SOAK_DIR)/table.md 2>/dev/null || tail -50 $(SOAK_DIR)/test.log; exit $$status

clean:
	rm -rf $(BIN)
