package terraform

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/tailab/tailab/internal/errclass"
)

// Check is one need of the terraform provider, checked by `tailab doctor`.
type Check struct {
	Name   string
	Status string // ok, warn, fail
	Detail string
	Fix    string // what to do when not ok
}

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// DoctorOptions says where the worker's needs are looked for. The runs'
// worker is TFE's, an agent's or otfd's machine: doctor checks this machine,
// which is that worker when tailab runs there (an agent or OTF next to the
// KVM host).
type DoctorOptions struct {
	CLIConfigFile string   // TF_CLI_CONFIG_FILE: the provider mirror; "" for none
	Terraform     string   // the terraform the worker runs ("" : terraform on PATH)
	Tools         []string // default xsltproc, genisoimage
}

// ProviderSource is the libvirt Terraform provider the modules require.
const ProviderSource, ProviderVersion = "registry.terraform.io/dmacvicar/libvirt", "0.7"

// Doctor checks what `up --provider terraform` needs: the settings, the
// server (API version, organization, project), and on the worker the tools
// the runs call (xsltproc for the domain XSLT, genisoimage for the cloud-init
// disk), Terraform ≥ 1.5, and the libvirt provider in a filesystem mirror.
func (p *Provider) Doctor(ctx context.Context, o DoctorOptions) []Check {
	var out []Check
	add := func(name, status, detail, fix string) { out = append(out, Check{name, status, detail, fix}) }
	if !p.configured() {
		add("settings", CheckFail, "TFE_TOKEN or TFE_ORGANIZATION is not set", "export TFE_TOKEN, TFE_ORGANIZATION (and TFE_ADDRESS for TFE or OTF)")
	} else if c, err := p.tfeClient(); err != nil {
		add("server", CheckFail, err.Error(), "check TFE_ADDRESS, TFE_TOKEN and the network")
	} else {
		add("server", CheckOK, fmt.Sprintf("%s answers, API version %s", p.cfg.Address, c.RemoteAPIVersion()), "")
		if err := p.read(ctx, "read organization "+p.cfg.Organization, func(ctx context.Context) error {
			_, err := c.Organizations.Read(ctx, p.cfg.Organization)
			return err
		}); err != nil {
			add("organization", CheckFail, err.Error(), "check TFE_ORGANIZATION (OTF: create it with POST /api/v2/organizations)")
		} else {
			add("organization", CheckOK, p.cfg.Organization, "")
		}
		if p.cfg.Project != "" {
			if id, err := p.project(ctx); err != nil {
				add("project", CheckFail, err.Error(), "fix or unset TFE_PROJECT")
			} else {
				add("project", CheckOK, p.cfg.Project+" ("+id+")", "")
			}
		}
	}
	tools := o.Tools
	if tools == nil {
		tools = []string{"xsltproc", "genisoimage"}
	}
	for _, t := range tools {
		if path, err := exec.LookPath(t); err != nil {
			add(t, CheckFail, "not on this machine's PATH", fmt.Sprintf("apt-get install %s on the worker (TFE agent, or otfd's machine), on the PATH the runs get", t))
		} else {
			add(t, CheckOK, path, "")
		}
	}
	out = append(out, terraformCheck(ctx, o.Terraform), mirrorCheck(o.CLIConfigFile))
	return out
}

var tfVersion = regexp.MustCompile(`^Terraform v(\d+)\.(\d+)\.(\d+)`)

// terraformCheck runs `terraform version`: the modules need 1.5 or later.
func terraformCheck(ctx context.Context, bin string) Check {
	c := Check{Name: "terraform", Fix: "install Terraform 1.5.7 (scripts/install-terraform.sh; OTF: put it at ENGINE_BINS_DIR/1.5.7/terraform) and give the workspaces that version"}
	if bin == "" {
		bin = "terraform"
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// No update check (CHECKPOINT_DISABLE): the worker may be offline, and the
	// version is all the doctor asks.
	cmd := exec.CommandContext(ctx, bin, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	b, err := cmd.Output()
	m := tfVersion.FindStringSubmatch(string(b))
	major, minor := 0, 0
	if m != nil {
		major, _ = strconv.Atoi(m[1])
		minor, _ = strconv.Atoi(m[2])
	}
	switch {
	case err != nil:
		c.Status, c.Detail = CheckFail, fmt.Sprintf("%s version: %v", bin, err)
	case m == nil:
		c.Status, c.Detail = CheckFail, fmt.Sprintf("%s version printed %q", bin, strings.SplitN(string(b), "\n", 2)[0])
	case major < 1 || major == 1 && minor < 5:
		c.Status, c.Detail = CheckFail, fmt.Sprintf("%s is Terraform %s.%s.%s: the modules need 1.5 or later", bin, m[1], m[2], m[3])
	default:
		c.Status, c.Detail = CheckOK, fmt.Sprintf("%s: Terraform %s.%s.%s", bin, m[1], m[2], m[3])
	}
	return c
}

// mirrorCheck reads the CLI configuration's filesystem mirrors and looks for
// the libvirt provider in one (unpacked or packed layout).
func mirrorCheck(file string) Check {
	c := Check{Name: "provider mirror", Fix: "build dmacvicar/libvirt 0.7.6 from the Go module proxy into a filesystem mirror and point TF_CLI_CONFIG_FILE (on the worker: otfd's environment, the agent's) at a provider_installation { filesystem_mirror { path = MIRROR } } (docs/terraform.md)"}
	if file == "" {
		c.Status, c.Detail = CheckWarn, "TF_CLI_CONFIG_FILE is not set: the runs download "+ProviderSource+" from the registry (the worker needs that network)"
		return c
	}
	src, err := os.ReadFile(file)
	if err != nil {
		c.Status, c.Detail = CheckFail, err.Error()
		return c
	}
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		c.Status, c.Detail = CheckFail, diags.Error()
		return c
	}
	var mirrors []string
	for _, pi := range f.Body.(*hclsyntax.Body).Blocks {
		if pi.Type != "provider_installation" {
			continue
		}
		for _, fm := range pi.Body.Blocks {
			if a, ok := fm.Body.Attributes["path"]; ok && fm.Type == "filesystem_mirror" {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type().FriendlyName() == "string" {
					mirrors = append(mirrors, v.AsString())
				}
			}
		}
	}
	if len(mirrors) == 0 {
		c.Status, c.Detail = CheckFail, file+" has no provider_installation { filesystem_mirror { path = ... } }"
		return c
	}
	for _, m := range mirrors {
		unpacked, _ := filepath.Glob(filepath.Join(m, ProviderSource, ProviderVersion+".*", "linux_amd64"))
		packed, _ := filepath.Glob(filepath.Join(m, ProviderSource, "terraform-provider-libvirt_"+ProviderVersion+".*_linux_amd64.zip"))
		if found := append(unpacked, packed...); len(found) > 0 {
			c.Status, c.Detail = CheckOK, found[0]
			return c
		}
	}
	c.Status, c.Detail = CheckFail, fmt.Sprintf("no %s %s.x for linux_amd64 under %s", ProviderSource, ProviderVersion, strings.Join(mirrors, ", "))
	return c
}

// WriteChecks prints the checks as a table, then what to do for each one
// not ok; the error (class Failed) counts the failed ones.
func WriteChecks(w io.Writer, checks []Check) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	failed := 0
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Detail)
		if c.Status == CheckFail {
			failed++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range checks {
		if c.Status != CheckOK {
			fmt.Fprintf(w, "%s: %s\n", c.Name, c.Fix)
		}
	}
	if failed > 0 {
		return errclass.Wrap(errclass.Failed, fmt.Errorf("%d check(s) failed", failed))
	}
	return nil
}
