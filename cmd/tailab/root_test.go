package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/tailab/tailab/internal/errclass"
)

// TestVerbsRegisteredOnce: every verb of the list is on the root command,
// once, and nothing registers flags on the process-global flag set.
func TestVerbsRegisteredOnce(t *testing.T) {
	root := newRootCommand()
	seen := map[string]bool{}
	for _, c := range root.Commands() {
		if seen[c.Name()] {
			t.Errorf("verb %s registered twice", c.Name())
		}
		seen[c.Name()] = true
	}
	for _, verb := range verbs {
		if name := verb(&globalOptions{}).Name(); !seen[name] {
			t.Errorf("verb %s is not on the root command", name)
		}
	}
	pflag.CommandLine.VisitAll(func(f *pflag.Flag) { t.Errorf("flag --%s on pflag.CommandLine", f.Name) })
}

// TestHostFlags: --host and --hosts are the root command's flags and reach
// the provider's configuration.
func TestHostFlags(t *testing.T) {
	t.Setenv("TAILAB_LIBVIRT_HOSTS", "")
	t.Setenv("TAILAB_LIBVIRT_HOSTS_FILE", "")
	g := &globalOptions{}
	root := newRoot(g)
	root.SetOut(io.Discard)
	root.SetArgs([]string{"version", "--host", "a=qemu+ssh://a/system", "--host", "b=qemu+ssh://b/system,lxc+ssh://b/system", "--hosts", "h.yaml"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a=qemu+ssh://a/system", "b=qemu+ssh://b/system,lxc+ssh://b/system"}; !slices.Equal(g.Hosts, want) {
		t.Errorf("hosts = %q, want %q", g.Hosts, want)
	}
	if g.HostsFile != "h.yaml" {
		t.Errorf("hosts file = %q", g.HostsFile)
	}
}

// TestUsageExitCodes: cobra's own errors are usage errors (exit 2), as are
// the commands' flag checks; an unknown session is exit 2 too.
func TestUsageExitCodes(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"grade", "--no-such-flag"},
		{"--no-such-flag", "version"},
		{"nosuchverb"},
		{"session", "nosuch"},
		{"version", "extra"},
		{"verify"},
		{"grade", "--concurrency", "x", "-s", "s1"},
		{"grade", "-s", "s1", "--data-dir", data},
		{"report", "-s", "s1", "--candidate", "c01", "--data-dir", data},
	} {
		_, _, err := runCLI(t, args...)
		if code := statusOf(err); code != ExitUsage {
			t.Errorf("tailab %v: exit %d (%v), want %d", args, code, err, ExitUsage)
		}
	}
}

func TestUnknownFlagSuggests(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{[]string{"grade", "--sesion", "s1"}, []string{`unknown flag: --sesion (did you mean "session"?)`}},
		{[]string{"sesion", "list"}, []string{`unknown command "sesion" for "tailab" (did you mean "session"?)`}},
		{[]string{"jury", "decid"}, []string{`unknown command "decid" for "tailab jury" (did you mean "decide"?)`}},
		{[]string{"zzzz"}, []string{`unknown command "zzzz" for "tailab" (valid: `, "session"}},
	} {
		_, stderr, code := runTailab(t, context.Background(), tc.args...)
		for _, w := range tc.want {
			if code != ExitUsage || !strings.Contains(stderr, w) {
				t.Errorf("tailab %v: exit %d %q, want %d and %q", tc.args, code, stderr, ExitUsage, w)
			}
		}
	}
}

// TestRemoteExitStatus: `tailab ssh` exits with the remote command's status,
// printing nothing of its own.
func TestRemoteExitStatus(t *testing.T) {
	if code := statusOf(fmt.Errorf("wrapped: %w", errclass.ExitStatus(7))); code != 7 {
		t.Errorf("status %d, want 7", code)
	}
}
