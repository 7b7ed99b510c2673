// Package netnstest checks libvirtd.MainInNetns: the whole test binary runs in
// the private daemon's network namespace.
package netnstest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv/libvirtd"
)

func TestMain(m *testing.M) { libvirtd.MainInNetns(m) }

func TestInDaemonNetns(t *testing.T) {
	d := libvirtd.Start(t)
	if !libvirtd.InDaemonNetns() {
		t.Fatal("not re-executed in the daemon's namespace")
	}
	var self, ns syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat("/run/netns/"+d.Netns, &ns); err != nil {
		t.Fatal(err)
	}
	if self.Ino != ns.Ino {
		t.Fatalf("test process netns inode %d, daemon's %d", self.Ino, ns.Ino)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	netXML := filepath.Join(dir, "net.xml")
	if err := os.WriteFile(netXML, []byte(`<network><name>tln</name><bridge name='tlnbr0'/><ip address='10.78.0.1' prefix='24'/></network>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Virsh(ctx, d.QEMUURI, "net-create", netXML); err != nil {
		t.Fatal(err)
	}
	defer d.Virsh(context.Background(), d.QEMUURI, "net-destroy", "tln")
	srv := filepath.Join(dir, "srv")
	_ = os.MkdirAll(srv, 0o755)
	init := "#!/bin/sh\ntrap 'exit 0' TERM\nip link set eth0 up\nbusybox nc -ll -p 7 -e /bin/echo hello &\nwait\n"
	if err := os.WriteFile(filepath.Join(srv, "init.sh"), []byte(init), 0o755); err != nil {
		t.Fatal(err)
	}
	ctXML := filepath.Join(dir, "c.xml")
	if err := os.WriteFile(ctXML, []byte(fmt.Sprintf(`<domain type='lxc'><name>tln-c</name><memory unit='MiB'>32</memory>
<os><type>exe</type><init>/srv/init.sh</init></os><devices>
<filesystem type='mount'><source dir='/'/><target dir='/'/><readonly/></filesystem>
<filesystem type='ram'><source usage='8' units='MiB'/><target dir='/run'/></filesystem>
<filesystem type='mount'><source dir='%s'/><target dir='/var'/><readonly/></filesystem>
<filesystem type='mount'><source dir='%s'/><target dir='/srv'/></filesystem>
<interface type='network'><source network='tln'/><mac address='52:54:00:78:00:02'/><ip address='10.78.0.2' prefix='24'/></interface>
<console type='pty'/>
</devices></domain>`, d.HostVar, srv)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Virsh(ctx, d.LXCURI, "create", ctXML); err != nil {
		t.Fatal(err)
	}
	defer d.Virsh(context.Background(), d.LXCURI, "destroy", "tln-c")
	// Plain net.Dial: this process is in the namespace.
	var c net.Conn
	var err error
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.DialTimeout("tcp", "10.78.0.2:7", time.Second); err == nil || time.Since(start) > 20*time.Second {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if strings.TrimSpace(line) != "hello" {
		t.Errorf("got %q", line)
	}
}
