package terraform

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
)

// TestDoctor: doctor checks the server (both dialects), the organization,
// the project, the tools on this machine, Terraform's version and the
// provider mirror; each missing need fails with what to do.
func TestDoctor(t *testing.T) {
	tf := terraformBinary(t)
	mirror := t.TempDir()
	if err := os.MkdirAll(filepath.Join(mirror, ProviderSource, "0.7.6", "linux_amd64"), 0o755); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(t.TempDir(), "terraform.rc")
	os.WriteFile(cli, []byte(`provider_installation {
  filesystem_mirror {
    path    = "`+mirror+`"
    include = ["registry.terraform.io/dmacvicar/libvirt"]
  }
  direct {
    exclude = ["registry.terraform.io/dmacvicar/libvirt"]
  }
}
`), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.rc")
	os.WriteFile(empty, []byte("provider_installation {\n  filesystem_mirror {\n    path = \""+t.TempDir()+"\"\n  }\n}\n"), 0o644)
	tools := []string{"genisoimage", "xsltproc", "tailab-no-such-tool"}

	for _, d := range tfetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			srv := tfetest.NewDialect(t, d, "ecole", testToken)
			got := map[string]Check{}
			for _, c := range New(testConfig(srv)).Doctor(context.Background(), DoctorOptions{CLIConfigFile: cli, Terraform: tf, Tools: tools}) {
				got[c.Name] = c
			}
			want := map[string]string{"server": CheckOK, "organization": CheckOK, "terraform": CheckOK, "provider mirror": CheckOK, "tailab-no-such-tool": CheckFail}
			for _, tool := range tools[:2] {
				want[tool] = CheckOK
				if _, err := exec.LookPath(tool); err != nil {
					want[tool] = CheckFail // as this machine is
				}
			}
			if d == tfetest.TFE {
				want["project"] = CheckOK
			}
			for name, st := range want {
				if got[name].Status != st {
					t.Errorf("%s: %+v, want %s", name, got[name], st)
				}
			}
			if len(got) != len(want) {
				t.Errorf("checks %v", got)
			}
			if !strings.Contains(got["terraform"].Detail, "Terraform 1.5.7") || !strings.Contains(got["tailab-no-such-tool"].Fix, "apt-get install tailab-no-such-tool on the worker") {
				t.Errorf("details: %+v", got)
			}
		})
	}

	// What fails, and says so.
	srv := tfetest.NewDialect(t, tfetest.OTF, "ecole", testToken)
	cfg := testConfig(srv)
	cfg.Project = "prj-exams"
	cfg.Organization = "nope"
	got := map[string]Check{}
	for _, c := range New(cfg).Doctor(context.Background(), DoctorOptions{CLIConfigFile: empty, Terraform: "/bin/false", Tools: []string{}}) {
		got[c.Name] = c
	}
	for name, want := range map[string]string{"organization": "HTTP 404", "project": "no projects at all (OTF)", "terraform": "/bin/false version", "provider mirror": "no registry.terraform.io/dmacvicar/libvirt 0.7.x"} {
		if c := got[name]; c.Status != CheckFail || !strings.Contains(c.Detail, want) {
			t.Errorf("%s: %+v, want a failure saying %q", name, c, want)
		}
	}
	if c := New(cfg).Doctor(context.Background(), DoctorOptions{Terraform: tf, Tools: []string{}}); c[len(c)-1].Status != CheckWarn {
		t.Errorf("no CLI configuration: %+v, want a warning (the registry)", c[len(c)-1])
	}
	if c := New(Config{}).Doctor(context.Background(), DoctorOptions{Terraform: tf, Tools: []string{}}); c[0].Name != "settings" || c[0].Status != CheckFail {
		t.Errorf("unconfigured: %+v", c[0])
	}
}
