package libvirt

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	lv "libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/internal/beneath"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
	"github.com/tailab/tailab/templates"
)

// PoolName is the storage pool (a directory) holding the overlays of a data dir:
// "tailab-" and a hash of its path, so two data dirs on one host never share one.
func (p *Provider) PoolName() string { return "tailab-" + specHash(p.cfg.PoolDir)[:8] }

// ensurePool defines and starts the data dir's storage pool unless it runs.
func (p *Provider) ensurePool() error {
	c, err := p.conn("qemu")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.cfg.PoolDir, 0o711); err != nil {
		return err
	}
	pool, err := c.LookupStoragePoolByName(p.PoolName())
	if isNotFound(err) {
		x, err := (&libvirtxml.StoragePool{Type: "dir", Name: p.PoolName(),
			Target: &libvirtxml.StoragePoolTarget{Path: p.cfg.PoolDir}}).Marshal()
		if err != nil {
			return err
		}
		if pool, err = c.StoragePoolDefineXML(x, 0); err != nil {
			return fmt.Errorf("define storage pool: %w", err)
		}
	} else if err != nil {
		return err
	}
	defer pool.Free()
	if active, _ := pool.IsActive(); !active {
		if err := pool.Create(0); err != nil {
			return fmt.Errorf("start storage pool: %w", err)
		}
	}
	return nil
}

// virtualSize reads a qcow2 image's virtual size.
func virtualSize(path string) (uint64, error) {
	out, err := exec.Command("qemu-img", "info", "--output=json", "-U", path).Output()
	if err != nil {
		return 0, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	var info struct {
		VirtualSize uint64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, err
	}
	return info.VirtualSize, nil
}

// prepareVM creates the machine's thin-clone overlays (never a copy of the base
// image) and, for images without a kernel, its seed ISO: cloud-init NoCloud for
// Linux, autounattend.xml for Windows.
func (p *Provider) prepareVM(sp *machineSpec, secrets map[string]secret.Value) error {
	sp.Console.Password = secrets[provision.ConsoleSecret].Reveal()
	if err := os.MkdirAll(sp.Dir, 0o700); err != nil {
		return err
	}
	c, err := p.conn("qemu")
	if err != nil {
		return err
	}
	pool, err := c.LookupStoragePoolByName(p.PoolName())
	if err != nil {
		return fmt.Errorf("storage pool %s: %w", p.PoolName(), err)
	}
	defer pool.Free()
	_ = pool.Refresh(0)
	for _, v := range sp.Volumes {
		if vol, err := pool.LookupStorageVolByName(v.Name); err == nil {
			_ = vol.Delete(0) // a leftover overlay from an interrupted run: start clean
			vol.Free()
		}
		sv := &libvirtxml.StorageVolume{
			Name:   v.Name,
			Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}},
		}
		if v.Backing != "" {
			size, err := virtualSize(v.Backing)
			if err != nil {
				return err
			}
			sv.Capacity = &libvirtxml.StorageVolumeSize{Value: size, Unit: "bytes"}
			sv.BackingStore = &libvirtxml.StorageVolumeBackingStore{Path: v.Backing,
				Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}
		} else {
			sv.Capacity = &libvirtxml.StorageVolumeSize{Value: uint64(v.Size), Unit: "bytes"}
		}
		x, err := sv.Marshal()
		if err != nil {
			return err
		}
		vol, err := pool.StorageVolCreateXML(x, 0)
		if err != nil {
			return fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		vol.Free()
	}
	if sp.Image != nil && sp.Image.Seed != "" {
		if sp.Machine.OS == labs.OSLinux {
			if err := withDir(sp.Dir, func(d *beneath.Dir) error { return vmHostKey(sp, d) }); err != nil {
				return err
			}
		}
		return writeSeed(sp, secrets)
	}
	return nil
}

// seedFile is one file of a machine's seed ISO.
type seedFile struct {
	Name string
	Data []byte
}

// writeSeed builds the seed ISO with genisoimage. The files are written to a
// private directory only for genisoimage to read and removed at once: the
// clear-text administrator password lives only inside the ISO.
func writeSeed(sp *machineSpec, secrets map[string]secret.Value) error {
	volid, files, err := renderSeed(sp, secrets)
	if err != nil {
		return err
	}
	dir := filepath.Join(sp.Dir, "seed")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var paths []string
	for _, f := range files {
		dst := filepath.Join(dir, f.Name)
		if err := os.WriteFile(dst, f.Data, 0o600); err != nil {
			return err
		}
		paths = append(paths, dst)
	}
	args := append([]string{"-quiet", "-output", sp.Image.Seed, "-volid", volid, "-joliet", "-rock"}, paths...)
	if out, err := exec.Command("genisoimage", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("genisoimage: %v: %s", err, out)
	}
	return nil
}

// renderSeed renders the seed files of a machine: Windows' answer file
// (volume UNATTEND), or cloud-init NoCloud's user-data, meta-data and
// network-config (volume cidata).
func renderSeed(sp *machineSpec, secrets map[string]secret.Value) (volid string, files []seedFile, err error) {
	data := map[string]any{
		"Session": sp.Session, "Candidate": sp.Candidate, "Machine": sp.Machine.Name,
		"Hostname": hostname(sp), "InstanceID": sp.Domain, "NICs": sp.NICs,
		"User": "root", "AuthorizedKey": "", "PasswordHash": "", "HostKeyPrivate": "", "HostKeyPublic": "",
		"ComputerName": strings.ToUpper(truncate(sp.Machine.Name, 15)), "AdminPassword": "",
	}
	var names []string
	volid = "cidata"
	if sp.Machine.OS == labs.OSWindows {
		volid = "UNATTEND"
		data["AdminUser"] = windowsAdmin(sp.Machine)
		if c, ok := sp.Machine.Credentials["winrm"]; ok && c.Password != "" {
			data["AdminPassword"] = secrets[c.Password].Reveal()
		}
		data["WinNICs"] = windowsNICs(sp.NICs)
		names = []string{"windows/autounattend.xml"}
	} else {
		if c, ok := sp.Machine.Credentials["ssh"]; ok {
			data["User"] = c.User
			if c.Key != "" {
				if pub, err := provision.PublicKey(secrets[c.Key]); err == nil {
					data["AuthorizedKey"] = strings.TrimSpace(pub)
				}
			}
		}
		if len(sp.HostKeyPEM) > 0 {
			signer, err := ssh.ParsePrivateKey(sp.HostKeyPEM)
			if err != nil {
				return "", nil, fmt.Errorf("host key: %w", err)
			}
			data["HostKeyPrivate"] = strings.TrimSpace(string(sp.HostKeyPEM))
			data["HostKeyPublic"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
		}
		names = []string{"cloud-init/user-data", "cloud-init/meta-data", "cloud-init/network-config"}
	}
	for _, n := range names {
		b, err := templates.Render(n, data)
		if err != nil {
			return "", nil, err
		}
		files = append(files, seedFile{Name: filepath.Base(n), Data: b})
	}
	return volid, files, nil
}

// defaultWindowsAdmin is the account the answer file logs on as when the
// machine's winrm credentials name no user.
const defaultWindowsAdmin = "Administrator"

// windowsAdmin is the name of the built-in administrator the answer file logs
// on as once: the user of the machine's winrm credentials (the account the
// grader and the steps use, whose password the answer file sets), without a
// DOMAIN\ prefix or @domain suffix; Administrator when none is given.
func windowsAdmin(m labs.Machine) string {
	user := m.Credentials["winrm"].User
	if i := strings.LastIndex(user, `\`); i >= 0 {
		user = user[i+1:]
	}
	if i := strings.Index(user, "@"); i >= 0 {
		user = user[:i]
	}
	if user == "" {
		return defaultWindowsAdmin
	}
	return user
}

// winNIC is a statically addressed NIC as the Windows answer file sets it
// (Microsoft-Windows-TCPIP and Microsoft-Windows-DNS-Client, specialize pass).
type winNIC struct {
	Dev string
	// Identifier is the MAC address as Windows names an interface by it:
	// upper-case hexadecimal pairs joined by dashes (52-54-00-0A-0B-0C).
	Identifier string
	Address    string
	Prefix     int
	// Gateway is the lab network's gateway: a default route through it. Never
	// on the management NIC, which reaches the grader on its own subnet.
	Gateway string
	// DNS are the servers the lab network provides: the gateway of a nat
	// network, where libvirt's dnsmasq answers. Other lab networks give none
	// (a lab machine serves DNS there, configured by the candidate).
	DNS []string
	// Mgmt marks the management NIC: it does not register its address in
	// DNS (a domain controller would publish it to the lab otherwise).
	Mgmt bool
}

// windowsNICs returns the NICs the answer file configures: those with a
// static address, the management NIC included. DHCP NICs and NICs without an
// address keep Windows' defaults (DHCP).
func windowsNICs(nics []nicSpec) []winNIC {
	var out []winNIC
	for _, n := range nics {
		if n.DHCP || n.Address == "" {
			continue
		}
		w := winNIC{Dev: n.Dev, Identifier: windowsMAC(n.MAC), Address: n.Address, Prefix: n.Prefix, Mgmt: n.Lab == ""}
		if !w.Mgmt && n.Gateway != "" {
			w.Gateway = n.Gateway
			w.DNS = []string{n.Gateway}
		}
		out = append(out, w)
	}
	return out
}

// windowsMAC writes a MAC address the way Windows identifies an interface by
// it in an answer file: 52:54:00:0a:0b:0c → 52-54-00-0A-0B-0C.
func windowsMAC(mac string) string {
	return strings.ToUpper(strings.ReplaceAll(mac, ":", "-"))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// deleteVolumes removes a machine's overlays from the pool.
func (p *Provider) deleteVolumes(session, candidate, machine string) error {
	c, err := p.conn("qemu")
	if err != nil {
		return err
	}
	pool, err := c.LookupStoragePoolByName(p.PoolName())
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer pool.Free()
	_ = pool.Refresh(0)
	vols, err := pool.ListAllStorageVolumes(0)
	if err != nil {
		return err
	}
	prefix := naming.DomainName(session, candidate, machine) + "."
	for i := range vols {
		v := &vols[i]
		if name, err := v.GetName(); err == nil && strings.HasPrefix(name, prefix) {
			if err := v.Delete(lv.STORAGE_VOL_DELETE_NORMAL); err != nil && !isNotFound(err) {
				v.Free()
				return fmt.Errorf("delete volume %s: %w", name, err)
			}
		}
		v.Free()
	}
	return nil
}
