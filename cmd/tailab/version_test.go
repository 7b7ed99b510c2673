package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionCommandAndFlag: `tailab version` and `tailab --version` print the
// same line, the version main.version was stamped with.
func TestVersionCommandAndFlag(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v9.9.9-test"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := runCLI(t, args...)
		if err != nil || out != "tailab v9.9.9-test\n" {
			t.Errorf("tailab %s: %q, %v; want %q", args[0], out, err, "tailab v9.9.9-test\n")
		}
	}
}

// TestVersionStampedAtBuild builds tailab as the scripts do (-ldflags -X with
// scripts/version.sh) and reads the version back from the binary: the symbol
// the scripts set is the one the command prints.
func TestVersionStampedAtBuild(t *testing.T) {
	want, err := exec.Command("bash", "../../scripts/version.sh").Output()
	if err != nil {
		t.Fatalf("scripts/version.sh: %v", err)
	}
	v := strings.TrimSpace(string(want))
	if v == "" || v == "dev" {
		t.Fatalf("scripts/version.sh printed %q in a git checkout", v)
	}
	bin := filepath.Join(t.TempDir(), "tailab")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+v, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil || string(out) != "tailab "+v+"\n" {
			t.Errorf("tailab %s: %q, %v; want %q", arg, out, err, "tailab "+v+"\n")
		}
	}
}
