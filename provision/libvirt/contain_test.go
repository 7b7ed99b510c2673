package libvirt

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/naming"
)

// containSpec is a container of session s1 as the plan makes it, in either layout.
func containSpec(t *testing.T, rootfs string) (*Provider, *machineSpec) {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{LXC: "lxc:///system", DataDir: dir, RootFS: rootfs, HostVar: "/d/hostvar", UIDTable: filepath.Join(dir, "uid-ranges.json")}
	cfg.Complete()
	p := New(cfg)
	sp := &machineSpec{Session: "s1", Candidate: "c01", Domain: naming.DomainName("s1", "c01", "dc"), Type: "lxc",
		Dir: filepath.Join(dir, "machines", "s1", "c01", "dc"), SharedDir: filepath.Join(dir, "machines", "s1", ".lib"),
		Machine: labs.Machine{Name: "dc", Services: []string{"sshd", "samba-dc"}, Files: map[string]string{"/etc/resolv.conf": "x", "/srv/a": "y"}},
		NICs: []nicSpec{{Network: "n", Lab: "lan", Dev: "eth0", MAC: "52:54:00:00:00:01"},
			{Network: "m", Dev: "eth1", MAC: "52:54:00:00:00:02", Address: "10.250.1.10", Prefix: 16, Isolated: true}}}
	if p.contained() {
		sp.Contained = true
		_, sp.Mounts = p.containerMounts(sp)
		sp.NICs[1].Port = MgmtPortName(sp.Domain)
		sp.UIDBase = 3 * uidRange
	} else {
		sp.HostVar, sp.Hide = p.cfg.HostVar, hiddenDirs(p.cfg.DataDir)
	}
	return p, sp
}

func TestContainerXMLLayouts(t *testing.T) {
	for _, tc := range []struct {
		name, rootfs string
		want, not    []string
	}{
		{"host root", "host", []string{`<source dir="/"></source><target dir="/"></target><readonly>`, `<source dir="/d/hostvar">`},
			[]string{"<idmap>", "<capabilities", `<target dev=`}},
		{"contained", "/var/cache/tailab/rootfs/x", []string{
			`<idmap><uid start="0" target="12582912" count="4194304"></uid><gid start="0" target="12582912" count="4194304"></gid></idmap>`,
			`<capabilities policy="deny">`, `<net_admin state="on">`,
			`<source dir="/run/tailab/mnt/tl-s1.c01.dc/root"></source><target dir="/"></target></filesystem>`,
			`<source dir="/run/tailab/mnt/tl-s1.c01.dc/srv"></source><target dir="/srv">`,
			`<source dir="/run/tailab/mnt/tl-s1.c01.dc/lib"></source><target dir="/srv/lib"></target><readonly>`,
			`<source dir="/run/tailab/mnt/tl-s1.c01.dc/files/etc/resolv.conf"></source><target dir="/etc/resolv.conf">`,
			`<source dir="/run/tailab/mnt/tl-s1.c01.dc/samba-dc"></source><target dir="/var/cache/tailab/samba-dc"></target><readonly>`,
			`<target dev="` + MgmtPortName("tl-s1.c01.dc") + `">`, `<port isolated="yes">`, `<uidbase>12582912</uidbase>`,
		}, []string{`<source dir="/"`, "hostvar", "sys_admin", "sys_ptrace", "dac_read_search", "sys_module", "mknod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sp := containSpec(t, tc.rootfs)
			x, err := containerXML(sp, tag{Session: "s1", Candidate: "c01", Machine: "dc"})
			if err != nil {
				t.Fatal(err)
			}
			x = regexp.MustCompile(`>\s+<`).ReplaceAllString(x, "><")
			for _, w := range tc.want {
				if !strings.Contains(x, w) {
					t.Errorf("XML lacks %s:\n%s", w, x)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(x, n) {
					t.Errorf("XML has %s:\n%s", n, x)
				}
			}
		})
	}
}

// TestCapabilitiesAreContainerCaps keeps the XML and the documented list one.
func TestCapabilitiesAreContainerCaps(t *testing.T) {
	b, err := xml.Marshal(capabilities())
	if err != nil {
		t.Fatal(err)
	}
	var on []string
	for _, part := range strings.Split(string(b), "<")[1:] {
		if name, _, ok := strings.Cut(part, ` state="on"`); ok {
			on = append(on, name)
		}
	}
	want := slices.Clone(containerCaps)
	slices.Sort(on)
	slices.Sort(want)
	if !slices.Equal(on, want) {
		t.Errorf("capabilities() turns on %v, containerCaps says %v", on, containerCaps)
	}
	var c libvirtxml.DomainFeatureCapabilities
	if err := xml.Unmarshal(b, &c); err != nil || c.Policy != "deny" {
		t.Errorf("policy %q (%v), want deny", c.Policy, err)
	}
}

func TestUIDBaseAllocation(t *testing.T) {
	p, _ := containSpec(t, "/x")
	root := t.TempDir()
	base := func(name string) uint32 {
		t.Helper()
		b, err := p.uidBase(&machineSpec{Dir: filepath.Join(root, name)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := base("a"), base("b"), base("c")
	if a != uidRange || b != 2*uidRange || c != 3*uidRange {
		t.Fatalf("bases %d %d %d, want 1, 2, 3 × %d", a, b, c, uidRange)
	}
	if again := base("b"); again != b {
		t.Errorf("b again: %d, want %d", again, b)
	}
	if err := p.freeUIDBase(filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	if d := base("d"); d != b {
		t.Errorf("after b was freed, d got %d, want b's %d", d, b)
	}
	// A machine whose dir is gone (down without the table, kill -9) frees its range.
	if err := os.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if e := base("e"); e != a {
		t.Errorf("e got %d, want a's freed %d", e, a)
	}
}

func TestChownPrivate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "host-file")
	for _, f := range []string{"srv/ssh_host_ed25519_key", "srv/sub/x", "files/etc/resolv.conf", outside} {
		p := f
		if !filepath.IsAbs(f) {
			p = filepath.Join(dir, f)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("k"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "srv", "link")); err != nil {
		t.Fatal(err)
	}
	const base = 5 * uidRange
	if err := chownPrivate(dir, base); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) uint32 {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid
	}
	for _, f := range []string{"srv", "srv/ssh_host_ed25519_key", "srv/sub/x", "srv/link", "files/etc/resolv.conf"} {
		if u := owner(filepath.Join(dir, f)); u != base {
			t.Errorf("%s: owner %d, want %d", f, u, base)
		}
	}
	if u := owner(outside); u != 0 {
		t.Errorf("the link's target outside was chowned to %d", u)
	}
}

func TestMountsUnder(t *testing.T) {
	info := filepath.Join(t.TempDir(), "mountinfo")
	text := "1 0 8:1 / / rw - ext4 /dev/sda rw\n" +
		"2 1 8:1 /x /run/tailab/mnt/tl-s.c01.m/root ro - ext4 /dev/sda rw\n" +
		"3 1 8:1 /y /run/tailab/mnt/tl-s.c01.m/a\\040b rw - ext4 /dev/sda rw\n" +
		"4 1 8:1 /z /run/tailab/mntx ro - ext4 /dev/sda rw\n"
	if err := os.WriteFile(info, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := mountsUnder(info, "/run/tailab/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/run/tailab/mnt/tl-s.c01.m/root|/run/tailab/mnt/tl-s.c01.m/a b"; strings.Join(got, "|") != want {
		t.Errorf("mountsUnder = %q, want %q", got, want)
	}
}
