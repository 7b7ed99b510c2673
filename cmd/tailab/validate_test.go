package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

// TestValidateFilesPointedElsewhere: a lab naming /dev/zero, a FIFO or a host
// file such as /etc/shadow as its suites, and such names given to validate
// directly. Before, validate grew to 22 GiB on /dev/zero, blocked for ever on
// the FIFO, and printed the shadow file's lines (its hashes) as unknown fields.
// Now each is refused at once, and no line of the file is printed.
func TestValidateFilesPointedElsewhere(t *testing.T) {
	dir := t.TempDir()
	shadow := filepath.Join(dir, "shadow")
	fifo := filepath.Join(dir, "fifo")
	lab := filepath.Join(dir, "lab.yaml")
	roster := filepath.Join(dir, "roster.csv")
	const hash = "$y$j9T$PLANTEDHASH"
	labText, err := os.ReadFile(filepath.Join("testdata", "validate", "lab-ok.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	labText = bytes.Replace(labText, []byte("checks: [suites/ok.yaml]"), []byte("checks: [/dev/zero, fifo, shadow]"), 1)
	for _, err := range []error{
		os.WriteFile(shadow, []byte("root:"+hash+":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"), 0o600),
		syscall.Mkfifo(fifo, 0o600),
		syscall.Mkfifo(roster, 0o600),
		os.WriteFile(lab, labText, 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{lab}, []string{"checks[0]: read /dev/zero: not a regular file (a character device)",
			"checks[1]: read " + fifo + ": not a regular file (a FIFO)", shadow + ":1:1: unknown field: a key of 41 bytes that is no field name"}},
		{[]string{"/dev/zero", fifo, shadow, "/proc/self/environ"}, []string{"/dev/zero: not a regular file (a character device)",
			fifo + ": not a regular file (a FIFO)", shadow + ":1:1: neither a lab"}},
		{[]string{roster}, []string{roster + ": not a regular file (a FIFO)"}},
	}
	o := &validateOptions{}
	for _, tt := range tests {
		start := time.Now()
		o.Complete(tt.args)
		var out bytes.Buffer
		err := o.Run(&out)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("validate %v took %s", tt.args, d)
		}
		msg := out.String() + fmt.Sprint(err)
		if codeOf(err) != ExitBadFile {
			t.Errorf("validate %v: exit %d, want %d: %s", tt.args, codeOf(err), ExitBadFile, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("validate %v:\n%s\nwant it to say %q", tt.args, msg, w)
			}
		}
		if strings.Contains(msg, hash) || strings.Contains(msg, "daemon:") {
			t.Errorf("validate %v printed a line of the shadow file:\n%s", tt.args, msg)
		}
	}
}
