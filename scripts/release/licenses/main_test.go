package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// docs/licenses.md lists the release's dependencies as they are now, and
// every one is under an allowed licence (List fails otherwise).
func TestLicencesDocUpToDate(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	var want bytes.Buffer
	if err := Write(&want, root); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "docs", "licenses.md"))
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("docs/licenses.md is out of date: run go run ./scripts/release/licenses > docs/licenses.md (%v)", err)
	}
}

// A licence outside the allowed set, or one it cannot name, is not
// taken for a permissive one.
func TestClassify(t *testing.T) {
	for text, want := range map[string]string{
		"GNU GENERAL PUBLIC LICENSE Version 3":                                          "unknown",
		"GNU AFFERO GENERAL PUBLIC LICENSE":                                             "unknown",
		"Permission is hereby granted, free of charge, to any person":                   "MIT",
		"Redistribution and use in source and binary forms ... Neither the name of":     "BSD-3-Clause",
		"Redistribution and use in source and binary forms, with or without":            "BSD-2-Clause",
		"Mozilla Public License, version 2.0":                                           "MPL-2.0",
		"                                 Apache License\n   Version 2.0, January 2004": "Apache-2.0",
	} {
		if got := Classify(text); got != want {
			t.Errorf("Classify(%.30q) = %s, want %s", text, got, want)
		}
	}
	if Allowed["unknown"] || Allowed["GPL-3.0"] {
		t.Error("allowed set too wide")
	}
}
