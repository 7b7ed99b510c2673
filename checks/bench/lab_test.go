// Package bench measures the grader (checks.Runner with the real probes) against
// real local services: a Samba AD DC (LDAP), dnsmasq (DNS), OpenSSH (SSH), their
// TCP ports, and the WS-Management test server (WinRM) answering recorded
// PowerShell output with injected latency. See docs/benchmarks-grader.md.
//
// The package holds only tests: TestGraderWorkload runs a reduced workload once
// and checks the verdicts and the connections used; BenchmarkGrader runs the
// full workload (12 and 48 candidates × 4 machines × 50 checks) with the CPU of
// every component and a per-probe breakdown, the one-connection-per-check
// baseline and a subprocess measuring the grader's peak RSS.
package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	cryptossh "golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/dns"
	"github.com/tailab/tailab/checks/probe/ldap"
	sshprobe "github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/dnsmasq"
	"github.com/tailab/tailab/internal/testenv/sambadc"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

// WinRM account of the test server (a fixture, not a secret).
const (
	winrmUser     = "Administrateur"
	winrmPassword = "Ex@men-2024!"
	// winrmLatency is injected on every WS-Management request, as a LAN plus a
	// busy Windows machine would add.
	winrmLatency = 20 * time.Millisecond
)

// labSpec is how the grader reaches the services: everything a grading process
// (this one, or the child measuring peak RSS) needs, serialisable as JSON.
type labSpec struct {
	Candidates int       `json:"candidates"`
	StartedAt  time.Time `json:"started_at"` // the "exam start", before the fixtures

	DCIP         string `json:"dc_ip"`
	LDAPUser     string `json:"ldap_user"`
	LDAPDomain   string `json:"ldap_domain"`
	LDAPPassword string `json:"ldap_password"`

	DNSPort int `json:"dns_port"` // dnsmasq, on 127.0.0.1 and on DCIP

	SSHHost string `json:"ssh_host"`
	SSHPort int    `json:"ssh_port"`
	SSHKey  string `json:"ssh_key"` // PEM

	WinRMHost  string `json:"winrm_host"`
	WinRMPorts []int  `json:"winrm_ports"` // one WinRM test server per candidate's pc
	WinRMCA    string `json:"winrm_ca"`    // PEM
}

// lab is the running services.
type lab struct {
	spec  labSpec
	dc    *sambadc.DC
	ssh   *sshd.Server
	dns   *dnsmasq.DNS
	wsman servers // one per candidate: a Windows machine allows 30 shells per user
}

// servers are the WinRM test servers, one per candidate's pc.
type servers []*wsman.Server

// Stats adds up the servers' counters.
func (ss servers) Stats() wsman.Stats {
	var t wsman.Stats
	for _, s := range ss {
		st := s.Stats()
		t.Shells += st.Shells
		t.Commands += st.Commands
		t.Sends += st.Sends
		t.Receives += st.Receives
		t.Signals += st.Signals
		t.Deletes += st.Deletes
		t.OpenShells += st.OpenShells
		t.Requests += st.Requests
		t.AuthFailures += st.AuthFailures
		t.Handshakes += st.Handshakes
		t.Faults += st.Faults
		t.StdinBytes += st.StdinBytes
	}
	return t
}

// startLab starts every service for n candidates; they stop when tb ends.
func startLab(tb testing.TB, n int) *lab {
	tb.Helper()
	begin := time.Now()
	started := begin.UTC().Truncate(time.Second).Add(-time.Second)
	dc := sambadc.Start(tb, sambadc.Options{})
	l := &lab{dc: dc}
	l.spec = labSpec{
		Candidates: n, StartedAt: started, DCIP: dc.IP,
		LDAPUser: "Administrator", LDAPDomain: dc.Realm, LDAPPassword: dc.AdminPassword,
	}
	addFixtures(tb, dc, n)

	l.dns = dnsmasq.StartDNS(tb, dnsmasq.DNSOptions{Host: "127.0.0.1", Lines: dnsRecords(dc.IP, n)})
	l.spec.DNSPort = l.dns.Port

	_, keyPEM, pub := sshd.NewClientKey(tb)
	l.ssh = sshd.Start(tb, sshd.Options{AuthorizedKeys: []cryptossh.PublicKey{pub}, Extra: []string{"MaxSessions 50", "MaxStartups 200"}})
	l.spec.SSHHost, l.spec.SSHPort, l.spec.SSHKey = l.ssh.Host, l.ssh.Port, keyPEM

	_, answers := winrmChecks(dc.IP)
	for range n {
		w := wsman.Start(tb, wsman.Config{
			User: winrmUser, Password: winrmPassword, Auth: wsman.AuthNTLM,
			Handler: fakePowerShell(answers),
			Latency: func(string) time.Duration { return winrmLatency },
		})
		l.wsman = append(l.wsman, w)
		l.spec.WinRMHost, l.spec.WinRMCA = w.Host, string(w.CACertPEM) // httptest: one host, one certificate
		l.spec.WinRMPorts = append(l.spec.WinRMPorts, w.Port)
	}
	tb.Logf("lab for %d candidates ready in %s (samba DC up in %s)", n, time.Since(begin).Round(10*time.Millisecond), dc.Startup.Round(10*time.Millisecond))
	return l
}

// addFixtures creates each candidate's OU, sub-OU and group over LDAPS in one
// connection (samba-tool would cost a quarter of a second per object).
func addFixtures(tb testing.TB, dc *sambadc.DC, n int) {
	tb.Helper()
	conn, err := goldap.DialURL("ldaps://"+dc.LDAPSAddr(), goldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		tb.Fatalf("fixtures: dial: %v", err)
	}
	defer conn.Close()
	if err := conn.Bind(dc.AdminUPN, dc.AdminPassword); err != nil {
		tb.Fatalf("fixtures: bind: %v", err)
	}
	for i := 1; i <= n; i++ {
		id := candidateID(i)
		ou := "OU=" + agence(id) + "," + dc.BaseDN
		adds := []*goldap.AddRequest{
			goldap.NewAddRequest(ou, nil),
			goldap.NewAddRequest("OU=Comptabilite,"+ou, nil),
			goldap.NewAddRequest("CN=GG_Compta_"+id+","+ou, nil),
		}
		adds[0].Attribute("objectClass", []string{"organizationalUnit"})
		adds[1].Attribute("objectClass", []string{"organizationalUnit"})
		adds[2].Attribute("objectClass", []string{"group"})
		adds[2].Attribute("sAMAccountName", []string{"GG_Compta_" + id})
		for _, a := range adds {
			if err := conn.Add(a); err != nil {
				tb.Fatalf("fixtures: add %s: %v", a.DN, err)
			}
		}
	}
}

// dnsRecords are the lab zone's records, served on 127.0.0.1 and on the DC's
// address (both are machines of every candidate's inventory).
func dnsRecords(dcIP string, n int) []string {
	lines := []string{
		"listen-address=" + dcIP,
		"local=/lab.local/",
		"host-record=dc1.lab.local," + dcIP,
		"host-record=web.lab.local,10.10.0.80",
		"cname=intranet.lab.local,web.lab.local",
		"mx-host=lab.local,mail.lab.local,10",
		"host-record=mail.lab.local,10.10.0.25",
		"srv-host=_ldap._tcp.lab.local,dc1.lab.local,389,0,100",
		"srv-host=_kerberos._tcp.lab.local,dc1.lab.local,88,0,100",
		`txt-record=lab.local,"v=spf1 mx -all"`,
		"ptr-record=10.0.10.10.in-addr.arpa,dc1.lab.local",
	}
	for i := 1; i <= 40; i++ {
		lines = append(lines, fmt.Sprintf("host-record=pc%02d.lab.local,10.10.1.%d", i, i))
	}
	for i := 1; i <= n; i++ {
		id := candidateID(i)
		lines = append(lines, "host-record=intranet-"+id+".lab.local,"+intranetIP(i))
	}
	return lines
}

func candidateID(i int) string { return fmt.Sprintf("c%02d", i) }
func agence(id string) string  { return "Agence-" + id }
func intranetIP(i int) string  { return "10.20." + strconv.Itoa(i) + ".80" }

// counters count the connections the probes open, per transport, and time
// the probes' batches.
type counters struct {
	ldap atomic.Int64

	mu      sync.Mutex
	longest map[string]time.Duration // longest Probe.Run, by probe type
}

// timed wraps a probe to record its longest batch.
type timed struct {
	probe.Probe
	c *counters
}

func (p timed) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	start := time.Now()
	obs, err := p.Probe.Run(ctx, t, reqs)
	d := time.Since(start)
	p.c.mu.Lock()
	if d > p.c.longest[p.Type()] {
		p.c.longest[p.Type()] = d
	}
	p.c.mu.Unlock()
	return obs, err
}

// longestOf is the longest batch of probe p since the last reset.
func (c *counters) longestOf(p string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.longest[p]
}

// longestString lists the longest batch of each probe: "ssh 1.2s, ldap 600ms, ...".
func (c *counters) longestString() string {
	var parts []string
	for _, p := range probeOrder {
		parts = append(parts, fmt.Sprintf("%s %s", p, c.longestOf(p).Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// resetLongest forgets the batch times recorded so far.
func (c *counters) resetLongest() {
	c.mu.Lock()
	c.longest = map[string]time.Duration{}
	c.mu.Unlock()
}

// registry returns the real probes, set up for the lab's services.
func (s labSpec) registry(c *counters) *probe.Registry {
	w := winrm.New()
	w.CACert = []byte(s.WinRMCA)
	l := ldap.New()
	l.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c.ldap.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c.resetLongest()
	var ps []probe.Probe
	for _, p := range []probe.Probe{l, dns.New(), tcp.New(), sshprobe.New(), w} {
		ps = append(ps, timed{p, c})
	}
	return probe.NewRegistry(ps...)
}

// candidates returns the candidates, each with its four machines.
func (s labSpec) candidates() []checks.Candidate {
	out := make([]checks.Candidate, s.Candidates)
	for i := range out {
		id := candidateID(i + 1)
		m := &secret.Masker{}
		m.Add(s.LDAPPassword, winrmPassword)
		target := func(machine, addr string, ports map[string]int, creds map[string]probe.Credentials) probe.Target {
			return probe.Target{Session: "bench", Candidate: id, Machine: machine, Address: addr,
				Ports: ports, Credentials: creds, Masker: m}
		}
		out[i] = checks.Candidate{
			ID: id, LastName: "Candidat" + strings.ToUpper(id), FirstName: "Test",
			Params: map[string]any{
				"agence": agence(id), "intranet_ip": intranetIP(i + 1),
				"ssh_port": s.SSHPort, "dns_port": s.DNSPort, "winrm_port": s.WinRMPorts[i],
			},
			Machines: map[string]probe.Target{
				"dc": target("dc", s.DCIP, map[string]int{"dns": s.DNSPort}, map[string]probe.Credentials{
					"ldap": {User: s.LDAPUser, Domain: s.LDAPDomain, Password: secret.New(s.LDAPPassword)},
				}),
				"srv": target("srv", s.SSHHost, map[string]int{"ssh": s.SSHPort}, map[string]probe.Credentials{
					"ssh": {User: "root", PrivateKey: secret.New(s.SSHKey)},
				}),
				"pc": target("pc", s.WinRMHost, map[string]int{"winrm": s.WinRMPorts[i]}, map[string]probe.Credentials{
					"winrm": {User: winrmUser, Password: secret.New(winrmPassword)},
				}),
				"net": target("net", "127.0.0.1", map[string]int{"dns": s.DNSPort}, nil),
			},
		}
	}
	return out
}

// session is the grading session; StartedAt precedes the fixtures.
func (s labSpec) session() checks.Session {
	return checks.Session{ID: "bench", Lab: "bench-tai", StartedAt: s.StartedAt}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }
