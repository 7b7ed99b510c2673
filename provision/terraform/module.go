package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
	"github.com/tailab/tailab/templates"
)

// Module is one Terraform root module: a candidate's lab, or the session's
// management network.
type Module struct {
	Workspace string            // the workspace it is uploaded to
	Candidate string            // "" for the management module
	Tags      []string          // the workspace's tags
	Files     map[string][]byte // file name → content
	Hash      string            // of the files: a changed lab shows as a changed hash
	// Variables the workspace needs besides the module's defaults: public keys
	// (by variable name → the lab secret they derive from) and secrets.
	PublicKeys map[string]string
	Secrets    map[string]string
}

// FileNames lists the module's files, sorted.
func (m *Module) FileNames() []string {
	out := make([]string, 0, len(m.Files))
	for n := range m.Files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Write writes the module's files into dir.
func (m *Module) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range m.FileNames() {
		if err := os.WriteFile(filepath.Join(dir, n), m.Files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// q is an HCL string literal of s (no interpolation: ${ and %{ are escaped).
func q(s string) string {
	b, _ := json.Marshal(s) // JSON escapes are valid HCL escapes
	out := string(b)
	out = strings.ReplaceAll(out, "${", "$${")
	return strings.ReplaceAll(out, "%{", "%%{")
}

// heredoc escapes template sequences in a heredoc's literal text.
func heredoc(s string) string {
	s = strings.ReplaceAll(s, "${", "$${")
	s = strings.ReplaceAll(s, "%{", "%%{")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// ident turns a lab name into an HCL identifier with a prefix.
func ident(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range name {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

// varName is the Terraform variable of a lab secret.
func varName(prefix, secret string) string {
	return strings.ReplaceAll(ident(prefix, secret), "-", "_")
}

type kv struct{ Key, Value string }

type netData struct {
	Label, Name, Mode, Bridge, Addresses string
	DHCP                                 bool
}

type volData struct {
	Label, Name, Base string
	Size              int64
}

type nicData struct{ Network, MAC string }

type vmData struct {
	Label, SeedLabel, SeedName                  string
	Machine, MachineQ, Kind, OS                 string
	Domain                                      string
	Memory, VCPU                                int64
	UEFI                                        bool
	Volumes                                     []volData
	NICs                                        []nicData
	UserData, MetaData, NetworkConfig           string
	Session, Candidate, Lab, Spec, MgmtNetworkQ string
	Mgmt                                        string
	Addresses                                   []kv
}

// render renders a template of templates/terraform and formats it as
// `terraform fmt` does.
func render(name string, data any) ([]byte, error) {
	b, err := templates.Render("terraform/"+name, data)
	if err != nil {
		return nil, err
	}
	f, diags := hclwrite.ParseConfig(b, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("generated %s does not parse: %s", name, diags.Error())
	}
	return hclwrite.Format(f.Bytes()), nil
}

// MgmtModule is the module of the session's management network.
func (p *Provider) MgmtModule(s *provision.Session) (*Module, error) {
	if _, _, err := naming.MgmtHost(s.MgmtCIDR); err != nil {
		return nil, err
	}
	name := naming.MgmtNetworkName(s.Name)
	m := &Module{Workspace: MgmtWorkspaceName(s.Name), Tags: Tags(s.Name, "", s.Lab), Files: map[string][]byte{}}
	var err error
	add := func(file, tmpl string, data any) {
		if err == nil {
			m.Files[file], err = render(tmpl, data)
		}
	}
	add("versions.tf", "versions.tf.tmpl", map[string]any{"What": "the management network of session " + s.Name, "Workspace": m.Workspace})
	add("variables.tf", "variables.tf.tmpl", map[string]any{"URI": q(p.cfg.LibvirtURI), "Lab": false})
	add("main.tf", "mgmt.tf.tmpl", map[string]any{"Name": q(name), "Bridge": q(naming.BridgeName(name)), "CIDR": q(s.MgmtCIDR)})
	if err != nil {
		return nil, err
	}
	m.Hash = hashFiles(m.Files)
	return m, nil
}

// LabModule is the module of one candidate's lab instance.
func (p *Provider) LabModule(s *provision.Session, in *labs.Instance) (*Module, error) {
	c := in.Candidate
	m := &Module{Workspace: WorkspaceName(s.Name, c.ID), Candidate: c.ID, Tags: Tags(s.Name, c.ID, s.Lab),
		Files: map[string][]byte{}, PublicKeys: map[string]string{}, Secrets: map[string]string{}}
	mgmtName := naming.MgmtNetworkName(s.Name)
	var nets []netData
	for _, n := range in.Networks {
		nd := netData{Label: ident("net_", n.Name), Name: q(naming.NetworkName(s.Name, c.ID, n.Name)), Mode: q("none"),
			Bridge: q(naming.BridgeName(naming.NetworkName(s.Name, c.ID, n.Name)))}
		if n.Mode == labs.ModeNAT {
			nd.Mode, nd.Addresses, nd.DHCP = q("nat"), q(n.CIDR), n.DHCP != nil
		}
		nets = append(nets, nd)
	}
	images := map[string]string{}
	var vms []vmData
	for mi, mc := range in.Machines {
		vm, err := p.machine(s, in, mi, mgmtName, m, images)
		if err != nil {
			return nil, fmt.Errorf("candidate %s machine %s: %w", c.ID, mc.Name, err)
		}
		vms = append(vms, vm)
	}
	var imgs []kv
	for _, k := range slices.Sorted(maps.Keys(images)) {
		imgs = append(imgs, kv{q(k), q(images[k])})
	}
	what := fmt.Sprintf("lab %s of candidate %s (session %s)", s.Lab, c.ID, s.Name)
	var err error
	add := func(file, tmpl string, data any) {
		if err == nil {
			m.Files[file], err = render(tmpl, data)
		}
	}
	add("versions.tf", "versions.tf.tmpl", map[string]any{"What": what, "Workspace": m.Workspace})
	add("variables.tf", "variables.tf.tmpl", map[string]any{"URI": q(p.cfg.LibvirtURI), "Lab": true,
		"Pool": q(p.cfg.Pool), "Images": imgs, "PublicKeys": slices.Sorted(maps.Keys(m.PublicKeys)), "Secrets": slices.Sorted(maps.Keys(m.Secrets))})
	add("main.tf", "main.tf.tmpl", map[string]any{"LabName": s.Lab, "CandidateName": c.ID, "SessionName": s.Name,
		"MgmtNetwork": mgmtName, "MgmtWorkspace": MgmtWorkspaceName(s.Name), "Networks": nets, "Machines": vms})
	add("outputs.tf", "outputs.tf.tmpl", map[string]any{"Machines": vms})
	if err != nil {
		return nil, err
	}
	xsl, err := templates.Render("terraform/domain.xsl.tftpl", nil)
	if err != nil {
		return nil, err
	}
	m.Files["domain.xsl.tftpl"] = xsl
	m.Hash = hashFiles(m.Files)
	return m, nil
}

// machine builds a machine's volumes, seed and domain. A container becomes a
// small Linux VM on a remote host (remote hosts have no tailab-prepared
// directories to bind-mount): it thin-clones the container image.
func (p *Provider) machine(s *provision.Session, in *labs.Instance, mi int, mgmtName string, mod *Module, images map[string]string) (vmData, error) {
	mc := in.Machines[mi]
	c := in.Candidate
	dom := naming.DomainName(s.Name, c.ID, mc.Name)
	addr, err := provision.Addressing(s, in, mi)
	if err != nil {
		return vmData{}, err
	}
	mgmt := addr.Mgmt
	img := mc.Image
	mem := mc.Memory.MiB()
	if mc.Kind == labs.KindContainer {
		img = p.cfg.ContainerImage
		mem = max(mem, 256)
	}
	if mem == 0 {
		mem = 256
	}
	img = strings.TrimSuffix(filepath.Base(img), ".qcow2")
	images[img] = p.cfg.ImageDir + "/" + img + ".qcow2"
	vm := vmData{
		Label: ident("vm_", mc.Name), SeedLabel: ident("seed_", mc.Name), SeedName: q(naming.SeedName(s.Name, c.ID, mc.Name)),
		Machine: mc.Name, MachineQ: q(mc.Name), Kind: mc.Kind, OS: mc.OS, Domain: q(dom),
		Memory: mem, VCPU: int64(max(mc.CPUs, 1)), UEFI: mc.Firmware == "uefi",
		Session: q(s.Name), Candidate: q(c.ID), Lab: q(s.Lab), MgmtNetworkQ: q(mgmtName), Mgmt: q(mgmt.String()),
	}
	vm.Volumes = append(vm.Volumes, volData{Label: ident("disk_", mc.Name), Name: q(naming.VolumeName(s.Name, c.ID, mc.Name, 0)), Base: q(img)})
	for k, d := range mc.Disks {
		vm.Volumes = append(vm.Volumes, volData{Label: ident("disk_", fmt.Sprintf("%s_%d", mc.Name, k+1)),
			Name: q(naming.VolumeName(s.Name, c.ID, mc.Name, k+1)), Size: int64(d.Size)})
	}
	for _, n := range addr.NICs {
		if n.Mgmt {
			vm.NICs = append(vm.NICs, nicData{Network: q(mgmtName), MAC: q(n.MAC)})
			continue
		}
		if n.Address != "" {
			vm.Addresses = append(vm.Addresses, kv{q(n.Lab), q(n.Address)})
		}
		vm.NICs = append(vm.NICs, nicData{Network: "libvirt_network." + ident("net_", n.Lab) + ".name", MAC: q(n.MAC)})
	}

	hostname := mc.Hostname
	if hostname == "" {
		hostname = mc.Name
	}
	data := map[string]any{"Session": s.Name, "Candidate": c.ID, "Machine": mc.Name, "Hostname": hostname,
		"InstanceID": dom, "NICs": addr.NICs, "User": "root", "AuthorizedKey": "", "PasswordHash": "", "HostKeyPrivate": "", "HostKeyPublic": ""}
	const sentinel = "\x00TAILAB-VAR\x00"
	var interp string // the one interpolation the user data holds, put back after escaping
	var ud []byte
	if mc.OS == labs.OSWindows {
		pw := ""
		if cr, ok := mc.Credentials["winrm"]; ok && cr.Password != "" {
			v := varName("secret_", cr.Password)
			mod.Secrets[v] = cr.Password
			interp = fmt.Sprintf(`${replace(var.%s, "'", "''")}`, v)
			pw = sentinel
		}
		data["PasswordVar"] = pw
		ud, err = templates.Render("terraform/windows-user-data.ps1.tmpl", data)
	} else {
		if cr, ok := mc.Credentials["ssh"]; ok {
			data["User"] = cr.User
			if cr.Key != "" {
				v := varName("ssh_public_key_", cr.Key)
				mod.PublicKeys[v] = cr.Key
				interp = fmt.Sprintf("${trimspace(var.%s)}", v)
				data["AuthorizedKey"] = sentinel
			}
		}
		ud, err = templates.Render("cloud-init/user-data", data)
	}
	if err != nil {
		return vmData{}, err
	}
	vm.UserData = strings.ReplaceAll(heredoc(string(ud)), sentinel, interp)
	md, err := templates.Render("cloud-init/meta-data", data)
	if err != nil {
		return vmData{}, err
	}
	vm.MetaData = heredoc(string(md))
	nc, err := templates.Render("cloud-init/network-config", data)
	if err != nil {
		return vmData{}, err
	}
	vm.NetworkConfig = heredoc(string(nc))
	spec, _ := json.Marshal([]any{vm.Volumes, vm.NICs, vm.Memory, vm.VCPU, vm.UEFI, vm.UserData, vm.MetaData, vm.NetworkConfig})
	vm.Spec = q(hashBytes(spec))
	return vm, nil
}

func hashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func hashFiles(files map[string][]byte) string {
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h.Write([]byte(n + "\x00" + strconv.Itoa(len(files[n])) + "\x00"))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
