package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines bounds the command's own code (issue #16): the workflows live in
// the libraries (exam, results, ...), cmd/tailab keeps flags, output and
// exit codes.
const maxLines = 2600

func TestCommandStaysThin(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	t.Logf("cmd/tailab: %d non-test lines (at most %d)", n, maxLines)
	if n > maxLines {
		t.Errorf("cmd/tailab has %d non-test lines, more than %d: move the workflow into a library", n, maxLines)
	}
}
