// Package guest gives tests the tiny VM guest of scripts/tiny-guest.sh: Debian's
// cloud kernel, a busybox initramfs configured from the kernel command line, and
// a base qcow2 disk for thin clones. It boots to "TAILAB-GUEST-READY" in ~3 s
// under QEMU/TCG, answers HTTP on port 80 and a banner line on port 22, and
// powers off on `virsh shutdown` (ACPI).
//
// Build compiles it once into a cache shared by every test binary of the machine
// (TAILAB_GUEST_CACHE, default /var/tmp/tailab-guest-cache); the script locks the
// cache with flock, so parallel test packages do not race. It builds from the
// kernel package the install step fetched into that cache (scripts/install-deps.sh
// runs `scripts/tiny-guest.sh --fetch`): a test never downloads, and fails naming
// the install command when the package is not there.
package guest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/tailab/tailab/internal/testenv"
)

// ReadyLine starts the line the guest prints on its console (ttyS0) once its
// network and services are up: "TAILAB-GUEST-READY hostname=H addrs=A,B disk=D".
const ReadyLine = "TAILAB-GUEST-READY"

// PoweroffLine is printed on the console when the guest powers off cleanly.
const PoweroffLine = "TAILAB-GUEST-POWEROFF"

// CacheEnv overrides the shared cache directory.
const CacheEnv = "TAILAB_GUEST_CACHE"

// Paths are the files of a built guest.
type Paths struct {
	Dir      string // the cache directory
	Kernel   string // vmlinuz
	Initrd   string // initrd.gz
	BaseDisk string // base.qcow2: ext2, label tailab-base, marker /tailab-disk
	Manifest string // versions and sha256 of the above
}

var (
	once     sync.Once
	built    Paths
	buildErr error
	buildDur time.Duration
)

// CacheDir is where Build puts the guest.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	return "/var/tmp/tailab-guest-cache"
}

// RequireTools fails (CI) or skips the test when the build tools are missing.
func RequireTools(t testing.TB) {
	t.Helper()
	for _, b := range []string{"busybox", "cpio", "mke2fs", "qemu-img", "dpkg-deb", "flock", "gzip"} {
		testenv.RequireBinary(t, b)
	}
}

// Build builds the guest (or finds it cached) and returns its files.
func Build(t testing.TB) Paths {
	t.Helper()
	RequireTools(t)
	once.Do(func() {
		t0 := time.Now()
		built, buildErr = BuildInto(CacheDir())
		buildDur = time.Since(t0)
	})
	if buildErr != nil {
		t.Fatalf("tiny guest: %v", buildErr)
	}
	t.Logf("tiny guest in %s (build or cache check: %s)", built.Dir, buildDur.Round(time.Millisecond))
	return built
}

// BuildInto runs scripts/tiny-guest.sh into dir, offline: the kernel package
// must already be in dir/src.
func BuildInto(dir string) (Paths, error) {
	script, err := findScript("tiny-guest.sh")
	if err != nil {
		return Paths{}, err
	}
	out, err := exec.Command("bash", script, dir).CombinedOutput()
	if err != nil {
		return Paths{}, fmt.Errorf("%s %s: %w\n%s", script, dir, err, out)
	}
	p := Paths{
		Dir: dir, Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.gz"),
		BaseDisk: filepath.Join(dir, "base.qcow2"), Manifest: filepath.Join(dir, "manifest"),
	}
	for _, f := range []string{p.Kernel, p.Initrd, p.BaseDisk, p.Manifest} {
		if _, err := os.Stat(f); err != nil {
			return Paths{}, fmt.Errorf("tiny guest: %w", err)
		}
	}
	return p, nil
}

// Overlay creates a thin clone of the base disk (a qcow2 overlay backed by it)
// at path.
func (p Paths) Overlay(path string) error {
	out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", p.BaseDisk, "-F", "qcow2", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create overlay %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

// Net configures the guest's network from the kernel command line.
type Net struct {
	Hostname string   // tailab.hostname (default tailab-guest)
	IPs      []string // tailab.ip, one per NIC in order: "10.0.0.5/24", "dhcp" or "off"
	Gateway  string   // tailab.gw
	DNS      string   // tailab.dns
	Banner   []string // tailab.banner ports (default 22)
}

// Cmdline returns the kernel command line for a guest on a serial console.
func (n Net) Cmdline() string {
	parts := []string{"console=ttyS0", "quiet", "panic=-1"}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("tailab.hostname", n.Hostname)
	add("tailab.ip", strings.Join(n.IPs, ","))
	add("tailab.gw", n.Gateway)
	add("tailab.dns", n.DNS)
	add("tailab.banner", strings.Join(n.Banner, ","))
	return strings.Join(parts, " ")
}

// Domain describes a libvirt QEMU domain booting the guest.
type Domain struct {
	Name       string
	Type       string // "qemu" (TCG, the default) or "kvm"
	MemoryMiB  int    // default 192
	Disk       string // qcow2 overlay (Paths.Overlay), optional
	Net        Net
	Networks   []NIC  // one virtio NIC per entry
	ConsoleLog string // serial console file
}

// NIC is a virtio interface on a libvirt network.
type NIC struct {
	Network string
	MAC     string // pin it: a reused IP with a new MAC leaves stale ARP entries
}

var domainTmpl = template.Must(template.New("domain").Funcs(template.FuncMap{"x": xmlEscape}).Parse(
	`<domain type='{{x .D.Type}}'>
  <name>{{x .D.Name}}</name>
  <memory unit='MiB'>{{.D.MemoryMiB}}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{{x .P.Kernel}}</kernel>
    <initrd>{{x .P.Initrd}}</initrd>
    <cmdline>{{x .D.Net.Cmdline}}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
{{- if .D.Disk}}
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{{x .D.Disk}}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
{{- end}}
{{- range .D.Networks}}
    <interface type='network'>
      <source network='{{x .Network}}'/>
{{- if .MAC}}
      <mac address='{{x .MAC}}'/>
{{- end}}
      <model type='virtio'/>
    </interface>
{{- end}}
{{- if .D.ConsoleLog}}
    <serial type='file'>
      <source path='{{x .D.ConsoleLog}}'/>
      <target port='0'/>
    </serial>
{{- end}}
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
`))

// DomainXML returns the libvirt domain XML of a guest built at p.
// (<features><acpi/> is what lets `virsh shutdown` power it off.)
func (p Paths) DomainXML(d Domain) (string, error) {
	if d.Name == "" {
		return "", fmt.Errorf("guest domain: no name")
	}
	if d.Type == "" {
		d.Type = "qemu"
	}
	if d.MemoryMiB == 0 {
		d.MemoryMiB = 192
	}
	var b strings.Builder
	if err := domainTmpl.Execute(&b, struct {
		P Paths
		D Domain
	}{p, d}); err != nil {
		return "", fmt.Errorf("guest domain %s: %w", d.Name, err)
	}
	return b.String(), nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}

// findScript finds scripts/NAME from the working directory up to the module
// root, then next to this source file.
func findScript(name string) (string, error) {
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "scripts", name)
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", name)
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("scripts/%s not found from the working directory", name)
}
