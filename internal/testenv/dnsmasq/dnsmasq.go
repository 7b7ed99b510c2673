// Package dnsmasq starts real dnsmasq servers for integration tests: a DNS server
// with given records on a loopback address, and a DHCP server on one end of a veth
// pair created in the test's private network namespace (testenv.RunInNetns), the
// other end left for the client under test.
//
// Records and DHCP settings are plain dnsmasq configuration lines (see dnsmasq(8)):
//
//	host-record=dc1.lab.local,10.10.0.10
//	cname=intranet.lab.local,web.lab.local
//	mx-host=lab.local,mail.lab.local,10
//	srv-host=_ldap._tcp.lab.local,dc1.lab.local,389,0,100
//	txt-record=lab.local,"v=spf1 -all"
//	dhcp-option=option:router,192.0.2.1
package dnsmasq

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
)

// DNSOptions configure a DNS server.
type DNSOptions struct {
	Host  string   // loopback address to listen on (default 127.0.0.1)
	Port  int      // default: a free port
	Lines []string // dnsmasq configuration lines (records, options)
}

// DNS is a running dnsmasq answering DNS.
type DNS struct {
	Host string
	Port int
	Dir  string
	log  string
}

// Addr returns host:port.
func (s *DNS) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Log returns dnsmasq's log so far (queries are logged).
func (s *DNS) Log() string { b, _ := os.ReadFile(s.log); return string(b) }

// StartDNS starts dnsmasq as an authoritative-looking local DNS server (no upstream,
// no /etc/hosts) and waits until it answers on TCP.
func StartDNS(t testing.TB, o DNSOptions) *DNS {
	t.Helper()
	bin := require(t)
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = testenv.FreePort(t, o.Host)
	}
	dir := t.TempDir()
	s := &DNS{Host: o.Host, Port: o.Port, Dir: dir, log: filepath.Join(dir, "dnsmasq.log")}
	lines := append([]string{
		"port=" + strconv.Itoa(o.Port),
		"listen-address=" + o.Host,
		"bind-interfaces",
		"no-resolv",
		"no-hosts",
		"log-queries",
	}, o.Lines...)
	start(t, bin, dir, s.log, lines)
	testenv.WaitTCP(t, s.Addr(), 10*time.Second)
	return s
}

// DHCPOptions configure a DHCP server on a fresh veth pair.
type DHCPOptions struct {
	// ServerCIDR is the server's address on the link (default 192.0.2.1/24, TEST-NET-1).
	ServerCIDR string
	// Range is the dhcp-range value (default 192.0.2.100,192.0.2.150,255.255.255.0,1h).
	Range string
	// Lines are extra dnsmasq lines (dhcp-option=..., dhcp-host=...).
	Lines []string
}

// DHCP is a running dnsmasq serving DHCP on ServerIface; ClientIface is the other
// end of the veth pair, up and without an address, for the client under test.
type DHCP struct {
	ServerIface string
	ClientIface string
	ServerIP    net.IP
	Dir         string
	log         string
}

// Log returns dnsmasq's log so far (DHCP exchanges are logged).
func (s *DHCP) Log() string { b, _ := os.ReadFile(s.log); return string(b) }

var vethSeq atomic.Int32

// StartDHCP creates a veth pair in the test's network namespace, starts dnsmasq
// serving DHCP (no DNS) on one end and waits until it is ready. The pair is deleted
// when the test ends.
func StartDHCP(t testing.TB, o DHCPOptions) *DHCP {
	t.Helper()
	bin := require(t)
	if o.ServerCIDR == "" {
		o.ServerCIDR = "192.0.2.1/24"
	}
	if o.Range == "" {
		o.Range = "192.0.2.100,192.0.2.150,255.255.255.0,1h"
	}
	ip, _, err := net.ParseCIDR(o.ServerCIDR)
	if err != nil {
		t.Fatalf("ServerCIDR: %v", err)
	}
	n := vethSeq.Add(1)
	dir := t.TempDir()
	s := &DHCP{ServerIface: fmt.Sprintf("tldhs%d", n), ClientIface: fmt.Sprintf("tldhc%d", n), ServerIP: ip,
		Dir: dir, log: filepath.Join(dir, "dnsmasq.log")}
	for _, args := range [][]string{
		{"link", "add", "name", s.ServerIface, "type", "veth", "peer", "name", s.ClientIface},
		{"addr", "add", o.ServerCIDR, "dev", s.ServerIface},
		{"link", "set", s.ServerIface, "up"},
		{"link", "set", s.ClientIface, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", s.ServerIface).Run() })
	lines := append([]string{
		"port=0",
		"interface=" + s.ServerIface,
		"bind-interfaces",
		"dhcp-range=" + o.Range,
		"dhcp-leasefile=" + filepath.Join(dir, "leases"),
		"dhcp-authoritative",
		"no-ping",
		"log-dhcp",
	}, o.Lines...)
	start(t, bin, dir, s.log, lines)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Log(), "DHCP, IP range") {
		if time.Now().After(deadline) {
			t.Fatalf("dnsmasq DHCP not ready within 10s:\n%s", s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func require(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireIsolatedNetwork(t)
	return testenv.RequireBinary(t, "dnsmasq")
}

// start writes the configuration and runs dnsmasq in the foreground as root (so it
// can write its files in the test's temp dir), logging to logPath.
func start(t testing.TB, bin, dir, logPath string, lines []string) {
	t.Helper()
	lines = append([]string{
		"keep-in-foreground",
		"user=root",
		"group=root",
		"pid-file=",
		"log-facility=" + logPath,
	}, lines...)
	cfg := filepath.Join(dir, "dnsmasq.conf")
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--test", "--conf-file="+cfg).CombinedOutput(); err != nil {
		t.Fatalf("dnsmasq --test: %v\n%s", err, out)
	}
	cmd := testenv.StartDaemon(t, bin, "--conf-file="+cfg)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("dnsmasq log (pid %d):\n%s", cmd.Process.Pid, b)
		}
	})
}
