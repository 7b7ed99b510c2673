package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestTerraformProviderCLI: `up --provider terraform --dry-run --out DIR`
// writes the modules; up, status and down run against the TFE test server;
// the token never shows.
func TestTerraformProviderCLI(t *testing.T) {
	const token = "cli-test-token.atlasv1.zzz"
	srv := tfetest.New(t, "ecole", token)
	t.Setenv("TFE_ADDRESS", srv.URL)
	t.Setenv("TFE_TOKEN", token)
	t.Setenv("TFE_ORGANIZATION", "ecole")
	t.Setenv("TFE_PROJECT", "")
	t.Setenv("TAILAB_TF_POLL_INTERVAL", "1ms")
	t.Setenv("TAILAB_TF_LIBVIRT_URI", "qemu+ssh://root@kvm1/system")
	data, out := t.TempDir(), t.TempDir()
	var all strings.Builder
	run := func(args ...string) string {
		t.Helper()
		o, e, err := runCLI(t, append([]string{"--data-dir", data}, args...)...)
		all.WriteString(o + e)
		if err != nil {
			t.Fatalf("tailab %s: %v\n%s%s", strings.Join(args, " "), err, o, e)
		}
		return o + e
	}
	got := run("up", "tpe-local", "--session", "s1", "--count", "2", "--provider", "terraform", "--dry-run", "--out", out)
	if !strings.Contains(got, "tl-s1_c02") || !strings.Contains(got, "create") || strings.Contains(got, "the host offers") {
		t.Errorf("dry run (no libvirt admission line with terraform):\n%s", got)
	}
	for _, f := range []string{"tl-s1_mgmt/main.tf", "tl-s1_c01/main.tf", "tl-s1_c02/outputs.tf", "tl-s1_c02/domain.xsl.tftpl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("--out: %v", err)
		}
	}
	if len(srv.Workspaces()) != 0 {
		t.Fatal("a dry run created workspaces")
	}
	// --no-wait: no machine boots here (readiness: provision/terraform's TestReadiness).
	got = run("up", "tpe-local", "--session", "s1", "--count", "2", "--provider", "terraform", "--no-wait")
	for _, want := range []string{"10.250.1.10", "10.250.2.11", "running", "apply: 7 added"} {
		if !strings.Contains(got, want) {
			t.Errorf("up does not show %q:\n%s", want, got)
		}
	}
	got = run("status", "--session", "s1")
	if !strings.Contains(got, "10.250.2.10") {
		t.Errorf("status:\n%s", got)
	}
	// doctor checks the server, then this machine (which may lack some needs).
	o, e, err := runCLI(t, "doctor", "--provider", "terraform")
	if !strings.Contains(o, "server") || !strings.Contains(o, srv.URL+" answers") || err != nil && !strings.Contains(err.Error(), "check(s) failed") {
		t.Errorf("doctor: %v\n%s%s", err, o, e)
	}
	// gc without --provider looks at terraform too: from another data dir,
	// session s1 is unknown and its workspaces are orphans.
	o, e, _ = runCLI(t, "--data-dir", t.TempDir(), "gc")
	if !strings.Contains(o+e, "terraform  workspace  tl-s1_c01") || !strings.Contains(o+e, "tl-s1_mgmt") {
		t.Errorf("gc does not list the terraform workspaces:\n%s%s", o, e)
	}
	run("down", "--session", "s1")
	if ws := srv.Workspaces(); len(ws) != 0 {
		t.Errorf("workspaces left after down: %v", ws)
	}
	if strings.Contains(all.String(), token) {
		t.Fatal("the token shows in tailab's output")
	}
}
