package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of cmd/tailab's tests")

// golden compares got with testdata/golden/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// codeOf is the exit code main would give err.
func codeOf(err error) int { return statusOf(err) }

func TestValidate(t *testing.T) {
	dir := filepath.Join("testdata", "validate")
	f := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"lab-ok", []string{f("lab-ok.yaml")}, ExitOK},
		{"suites-ok", []string{f("suite-ok.yaml"), f("jury-only.yaml"), f("suites/ok.yaml")}, ExitOK},
		{"builtin", []string{"tpe-local"}, ExitOK},
		{"suite-bad", []string{f("suite-bad.yaml")}, ExitBadFile},
		{"lab-bad-suites", []string{f("lab-bad-suites.yaml")}, ExitBadFile},
		{"suite-named-twice", []string{f("suite-bad.yaml"), f("lab-bad-suites.yaml")}, ExitBadFile},
		{"not-a-lab-nor-suite", []string{f("neither.yaml"), f("not-yaml.yaml")}, ExitBadFile},
		{"mixed", []string{f("lab-ok.yaml"), f("missing.yaml"), f("suites/wrong-machines.yaml")}, ExitBadFile},
	}
	o := &validateOptions{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o.Complete(tt.args)
			var out bytes.Buffer
			err := o.Run(&out)
			if code := codeOf(err); code != tt.code {
				t.Errorf("exit %d, want %d (%v)", code, tt.code, err)
			}
			got := out.String()
			if err != nil {
				got += fmt.Sprintf("error (exit %d):\n%v\n", codeOf(err), err)
			}
			golden(t, "validate-"+tt.name+".txt", got)
		})
	}
}
