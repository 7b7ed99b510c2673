package terraform

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
	"github.com/tailab/tailab/provision/naming"
)

func testProvider() *Provider {
	return New(Config{LibvirtURI: "qemu+ssh://root@kvm1/system", Pool: "tailab", ImageDir: "/srv/images"})
}

// TestLabModuleHCL parses the generated module and checks its blocks and
// attributes: names as the local provider's, thin clones, cloud-init disks,
// the management NIC on the session network, outputs; no secret in the text.
func TestLabModuleHCL(t *testing.T) {
	p := testProvider()
	s := testSession(t, "s1", 2)
	ins := instances(t, s)
	m, err := p.LabModule(s, ins[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := m.FileNames(); !slices.Equal(got, []string{"domain.xsl.tftpl", "main.tf", "outputs.tf", "variables.tf", "versions.tf"}) {
		t.Fatalf("files %v", got)
	}
	parser := hclparse.NewParser()
	blocks := map[string]*hclsyntax.Block{} // "type.label.label"
	for _, n := range m.FileNames() {
		if !strings.HasSuffix(n, ".tf") {
			continue
		}
		f, diags := parser.ParseHCL(m.Files[n], n)
		if diags.HasErrors() {
			t.Fatalf("%s: %s\n%s", n, diags.Error(), m.Files[n])
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			blocks[strings.Join(append([]string{b.Type}, b.Labels...), ".")] = b
		}
	}
	str := func(b *hclsyntax.Block, attr string) string {
		t.Helper()
		a, ok := b.Body.Attributes[attr]
		if !ok {
			t.Fatalf("%s %v has no %s", b.Type, b.Labels, attr)
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return "<expr>"
		}
		switch v.Type().FriendlyName() {
		case "number":
			return v.AsBigFloat().String()
		case "bool":
			if v.True() {
				return "true"
			}
			return "false"
		}
		return v.AsString()
	}
	refs := func(b *hclsyntax.Block, attr string) string {
		var out []string
		for _, tr := range b.Body.Attributes[attr].Expr.Variables() {
			out = append(out, string(hclTraversal(tr)))
		}
		return strings.Join(out, ",")
	}
	want := map[string]string{ // block → name attribute
		"resource.libvirt_network.net_lan":         "tl-s1.c02.lan",
		"resource.libvirt_network.net_wan":         "tl-s1.c02.wan",
		"resource.libvirt_domain.vm_srv":           "tl-s1.c02.srv",
		"resource.libvirt_domain.vm_gw":            "tl-s1.c02.gw",
		"resource.libvirt_domain.vm_pc1":           "tl-s1.c02.pc1",
		"resource.libvirt_volume.disk_gw":          "tl-s1.c02.gw.qcow2",
		"resource.libvirt_volume.disk_gw_1":        "tl-s1.c02.gw.disk1.qcow2",
		"resource.libvirt_cloudinit_disk.seed_pc1": "tl-s1.c02.pc1.cidata.iso",
	}
	for k, name := range want {
		b, ok := blocks[k]
		if !ok {
			t.Fatalf("no block %s (have %v)", k, keys(blocks))
		}
		if got := str(b, "name"); got != name {
			t.Errorf("%s name %q, want %q", k, got, name)
		}
	}
	if got := str(blocks["resource.libvirt_network.net_lan"], "mode"); got != "none" {
		t.Errorf("isolated network mode %q", got)
	}
	if got := str(blocks["resource.libvirt_network.net_lan"], "bridge"); got != naming.BridgeName("tl-s1.c02.lan") {
		t.Errorf("bridge %q", got)
	}
	if got := str(blocks["resource.libvirt_network.net_wan"], "mode"); got != "nat" {
		t.Errorf("nat network mode %q", got)
	}
	if got := refs(blocks["resource.libvirt_volume.disk_gw"], "base_volume_id"); got != "var.base_images" {
		t.Errorf("system disk is not a thin clone of a base image: %q", got)
	}
	if got := str(blocks["resource.libvirt_volume.disk_gw_1"], "size"); got != "1073741824" {
		t.Errorf("extra disk size %q", got)
	}
	gw := blocks["resource.libvirt_domain.vm_gw"]
	if str(gw, "memory") != "512" || str(gw, "vcpu") != "2" {
		t.Errorf("gw memory/vcpu %s/%s", str(gw, "memory"), str(gw, "vcpu"))
	}
	if got := refs(gw, "cloudinit"); got != "libvirt_cloudinit_disk.seed_gw.id" {
		t.Errorf("cloudinit %q", got)
	}
	var nics []string
	for _, b := range gw.Body.Blocks {
		if b.Type == "network_interface" {
			if v, d := b.Body.Attributes["network_name"].Expr.Value(nil); !d.HasErrors() {
				nics = append(nics, v.AsString()+"@"+str(b, "mac"))
			} else {
				nics = append(nics, refs(b, "network_name")+"@"+str(b, "mac"))
			}
		}
	}
	wantNICs := []string{"libvirt_network.net_lan.name@" + naming.MAC("s1", "c02", "gw", 0), "libvirt_network.net_wan.name@" + naming.MAC("s1", "c02", "gw", 1), "tl-s1.mgmt@" + naming.MAC("s1", "c02", "gw", 99)}
	if !slices.Equal(nics, wantNICs) {
		t.Errorf("gw NICs %v, want %v (management NIC last)", nics, wantNICs)
	}
	if str(blocks["resource.libvirt_domain.vm_srv"], "memory") != "256" {
		t.Errorf("a container becomes a VM of at least 256 MiB")
	}
	if _, ok := blocks["resource.libvirt_domain.vm_pc1"].Body.Attributes["firmware"]; !ok {
		t.Errorf("uefi machine without firmware")
	}
	if _, ok := blocks["variable.secret_admin"]; !ok {
		t.Errorf("no sensitive variable for the admin secret")
	} else if str(blocks["variable.secret_admin"], "sensitive") != "true" {
		t.Errorf("secret variable not sensitive")
	}
	if _, ok := blocks["output.machines"]; !ok {
		t.Fatal("no machines output")
	}
	if m.Secrets["secret_admin"] != "admin" || m.PublicKeys["ssh_public_key_ssh_key"] != "ssh-key" {
		t.Errorf("module variables %v %v", m.Secrets, m.PublicKeys)
	}
	// The outputs evaluate (as the TFE test server plays them) to the addresses.
	_, outs, err := tfetest.Evaluate(m.Files, map[string]string{"secret_admin": "x"})
	if err != nil {
		t.Fatal(err)
	}
	srv := outs["machines"].(map[string]any)["vm_srv"].(map[string]any)
	if srv["mgmt_address"] != "10.250.2.10" || srv["domain"] != "tl-s1.c02.srv" || srv["addresses"].(map[string]any)["lan"] != "10.20.0.10" {
		t.Errorf("srv outputs %v", srv)
	}
	for _, f := range m.Files {
		if strings.Contains(string(f), "PRIVATE KEY") {
			t.Fatal("a private key in the module")
		}
	}
}

func hclTraversal(tr hcl.Traversal) string {
	var b strings.Builder
	for i, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		default:
			_ = i
		}
	}
	return b.String()
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// TestModulesTerraformFmt: every generated file is `terraform fmt -check`
// clean with Terraform 1.5.7, and `terraform validate`-level syntax holds.
func TestModulesTerraformFmt(t *testing.T) {
	tf := terraformBinary(t)
	p := testProvider()
	s := testSession(t, "s1", 2)
	dir := t.TempDir()
	mg, err := p.MgmtModule(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := mg.Write(filepath.Join(dir, mg.Workspace)); err != nil {
		t.Fatal(err)
	}
	for _, in := range instances(t, s) {
		m, err := p.LabModule(s, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Write(filepath.Join(dir, m.Workspace)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(tf, "fmt", "-check", "-diff", "-recursive", dir)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
}

func TestDumpModule(t *testing.T) {
	if os.Getenv("TAILAB_DUMP") == "" {
		t.Skip()
	}
	p := testProvider()
	s := testSession(t, "s1", 2)
	m, _ := p.LabModule(s, instances(t, s)[0])
	m.Write(os.Getenv("TAILAB_DUMP"))
}
