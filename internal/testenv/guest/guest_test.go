package guest_test

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/guest"
)

// QEMU's user-mode network forwards ports on 127.0.0.1 of a private namespace.
func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func TestCmdline(t *testing.T) {
	for _, tc := range []struct {
		name string
		net  guest.Net
		want string
	}{
		{"defaults", guest.Net{}, "console=ttyS0 quiet panic=-1"},
		{"static", guest.Net{Hostname: "pc1", IPs: []string{"10.0.0.5/24"}, Gateway: "10.0.0.1", DNS: "10.0.0.2"},
			"console=ttyS0 quiet panic=-1 tailab.hostname=pc1 tailab.ip=10.0.0.5/24 tailab.gw=10.0.0.1 tailab.dns=10.0.0.2"},
		{"two nics and banners", guest.Net{IPs: []string{"dhcp", "10.1.0.5/16"}, Banner: []string{"22", "2222"}},
			"console=ttyS0 quiet panic=-1 tailab.ip=dhcp,10.1.0.5/16 tailab.banner=22,2222"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.net.Cmdline(); got != tc.want {
				t.Errorf("Cmdline() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDomainXML(t *testing.T) {
	p := guest.Paths{Kernel: "/k/vmlinuz", Initrd: "/k/initrd.gz"}
	for _, tc := range []struct {
		name    string
		d       guest.Domain
		want    []string
		wantErr bool
	}{
		{"minimal", guest.Domain{Name: "vm"}, []string{"<domain type='qemu'>", "<memory unit='MiB'>192</memory>", "<acpi/>", "<kernel>/k/vmlinuz</kernel>"}, false},
		{"full", guest.Domain{Name: "vm<1>", Type: "kvm", MemoryMiB: 256, Disk: "/d/o.qcow2", ConsoleLog: "/d/c.log",
			Net:      guest.Net{Hostname: "h", IPs: []string{"10.0.0.5/24"}},
			Networks: []guest.NIC{{Network: "lan", MAC: "52:54:00:00:00:01"}, {Network: "mgmt"}}},
			[]string{"<domain type='kvm'>", "<name>vm&lt;1&gt;</name>", "<source file='/d/o.qcow2'/>", "<source network='lan'/>",
				"<mac address='52:54:00:00:00:01'/>", "<source network='mgmt'/>", "<source path='/d/c.log'/>",
				"tailab.hostname=h tailab.ip=10.0.0.5/24"}, false},
		{"no name", guest.Domain{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.DomainXML(tc.d)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var v struct{ XMLName xml.Name }
			if err := xml.Unmarshal([]byte(got), &v); err != nil {
				t.Fatalf("not XML: %v\n%s", err, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestBuildCached: a second build with the same inputs does nothing.
func TestBuildCached(t *testing.T) {
	p := guest.Build(t)
	before, err := os.ReadFile(p.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := guest.BuildInto(p.Dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: cached build check %s", time.Since(t0).Round(time.Millisecond))
	after, _ := os.ReadFile(p.Manifest)
	if string(before) != string(after) {
		t.Errorf("manifest changed on a cached rebuild:\n%s\n---\n%s", before, after)
	}
	for _, want := range []string{"kernel_release=6.1.0-", "sha256 ", " vmlinuz", " initrd.gz", " base.qcow2"} {
		if !strings.Contains(string(before), want) {
			t.Errorf("manifest lacks %q:\n%s", want, before)
		}
	}
}

// TestBootQEMU boots the guest with plain QEMU (TCG, user-mode network, DHCP)
// on a thin clone, checks its services, powers it off with ACPI (QMP
// system_powerdown, what `virsh shutdown` does) and checks the base disk is
// unchanged.
func TestBootQEMU(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	qemu := testenv.RequireBinary(t, "qemu-system-x86_64")
	p := guest.Build(t)
	dir := t.TempDir()
	overlay := filepath.Join(dir, "o.qcow2")
	if err := p.Overlay(overlay); err != nil {
		t.Fatal(err)
	}
	httpPort, bannerPort := testenv.FreePort(t, "127.0.0.1"), testenv.FreePort(t, "127.0.0.1")
	console, qmp := filepath.Join(dir, "console.log"), filepath.Join(dir, "qmp.sock")
	cmd := exec.Command(qemu, "-accel", "tcg", "-m", "192", "-nodefaults", "-no-reboot", "-display", "none",
		"-kernel", p.Kernel, "-initrd", p.Initrd,
		"-append", guest.Net{Hostname: "bootvm"}.Cmdline(),
		"-drive", "file="+overlay+",if=virtio,format=qcow2",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:%d-:22", httpPort, bannerPort),
		"-device", "virtio-net-pci,netdev=n0",
		"-serial", "file:"+console, "-qmp", "unix:"+qmp+",server=on,wait=off")
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	showConsole := func() string { b, _ := os.ReadFile(console); return string(b) }
	for !strings.Contains(showConsole(), guest.ReadyLine) {
		if time.Since(t0) > 90*time.Second {
			t.Fatalf("no %s after 90 s\nconsole:\n%s\nqemu: %s", guest.ReadyLine, showConsole(), out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("timing: QEMU start to %s (with a DHCP lease) %s", guest.ReadyLine, time.Since(t0).Round(time.Millisecond))

	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", bannerPort), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	banner, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if strings.TrimSpace(banner) != "SSH-2.0-TailabTinyGuest bootvm" {
		t.Errorf("banner = %q", banner)
	}
	c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "GET /info.txt HTTP/1.0\r\n\r\n")
	page, _ := io.ReadAll(c)
	c.Close()
	for _, want := range []string{"200 OK", "hostname=bootvm", "addrs=10.0.2.15/24", "disk=tailab-base"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}

	t1 := time.Now()
	if err := qmpCommand(qmp, "system_powerdown"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("qemu: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no power off 30 s after system_powerdown\nconsole:\n%s", showConsole())
	}
	t.Logf("timing: ACPI power button to QEMU exit %s", time.Since(t1).Round(time.Millisecond))
	if !strings.Contains(showConsole(), guest.PoweroffLine) {
		t.Errorf("console lacks %s:\n%s", guest.PoweroffLine, showConsole())
	}
	// The guest wrote to its disk (mount): only the overlay changed.
	if out, err := exec.Command("sha256sum", p.BaseDisk).Output(); err != nil {
		t.Fatal(err)
	} else if m, _ := os.ReadFile(p.Manifest); !strings.Contains(string(m), "sha256 "+strings.Fields(string(out))[0]+" base.qcow2") {
		t.Errorf("base disk changed under a thin clone")
	}
}

// qmpCommand sends one QMP command (after the capabilities handshake).
func qmpCommand(sock, command string) error {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return fmt.Errorf("qmp: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	dec := json.NewDecoder(c)
	var msg map[string]any
	if err := dec.Decode(&msg); err != nil { // greeting
		return fmt.Errorf("qmp greeting: %w", err)
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		if _, err := fmt.Fprintf(c, `{"execute":%q}`+"\n", cmd); err != nil {
			return fmt.Errorf("qmp %s: %w", cmd, err)
		}
		for { // skip events until the reply
			msg = nil
			if err := dec.Decode(&msg); err != nil {
				return fmt.Errorf("qmp %s: %w", cmd, err)
			}
			if _, ok := msg["event"]; !ok {
				break
			}
		}
		if e, ok := msg["error"]; ok {
			return fmt.Errorf("qmp %s: %v", cmd, e)
		}
	}
	return nil
}
