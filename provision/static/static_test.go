package static

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/internal/tlspin"
	"github.com/tailab/tailab/provision"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

type collect struct {
	mu sync.Mutex
	ms map[string]provision.MachineState
}

func (c *collect) Event(provision.Event) {}
func (c *collect) Machine(m provision.MachineState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ms[m.Key()] = m
}

// TestHostKeys: the key the grader will accept from an existing machine is
// the inventory's fingerprint, else the one known_hosts lists (another key
// makes the machine not-ready, naming both), else the one it presents at up,
// pinned once (a later up does not renew it).
func TestHostKeys(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.2", Password: "pw"})
	other := sshd.Start(t, sshd.Options{Host: "127.0.0.3", Password: "pw"})
	lab, roster := testLabAndRoster(t)
	dir := t.TempDir()
	line := func(s *sshd.Server, key ssh.PublicKey) string {
		return knownhostsLine(s.Host, s.Port, key)
	}
	tests := []struct {
		name, hostKey, known string
		wantPin, wantFirst   string
		wantState            string
	}{
		{"inventory fingerprint", "SHA256:from-the-inventory", "", "SHA256:from-the-inventory", "", provision.StateReady},
		{"known_hosts lists it", "", line(srv, srv.HostKey), srv.Fingerprint, "", provision.StateReady},
		{"known_hosts lists another", "", line(srv, other.HostKey), other.Fingerprint, "", provision.StateNotReady},
		{"trust on first use", "", line(other, other.HostKey), "", srv.Fingerprint, provision.StateReady},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known := ""
			if tc.known != "" {
				kh := filepath.Join(dir, fmt.Sprintf("known_hosts%d", i))
				if err := os.WriteFile(kh, []byte(tc.known), 0o600); err != nil {
					t.Fatal(err)
				}
				known = "known_hosts: " + filepath.Base(kh) + "\n"
			}
			src := fmt.Sprintf("%smachines: {dc: {address: 127.0.0.9}}\ncandidates:\n  c01: {srv: {address: %s, ports: {ssh: %d}, host_key: %q}}\n  c02: {srv: {address: 127.0.0.9}}\n",
				known, srv.Host, srv.Port, tc.hostKey)
			if tc.hostKey == "" {
				src = strings.Replace(src, `, host_key: ""`, "", 1)
			}
			inv, err := ParseInventory(filepath.Join(dir, "inv.yaml"), []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			sess := &provision.Session{Name: "s", LabSource: lab.Source, LabYAML: testLab, Candidates: roster, Provider: Name}
			ins, err := sess.Instances("c01")
			if err != nil {
				t.Fatal(err)
			}
			p := New(Config{Inventory: inv, InventoryYAML: []byte(src)})
			plan, err := p.Plan(context.Background(), sess, ins)
			if err != nil {
				t.Fatal(err)
			}
			if sess.Inventory != src || plan.Count(provision.OpKeep) != 2 || plan.Count(provision.OpCreate) != 0 {
				t.Errorf("plan: %s, inventory recorded %v", plan.Summary(), sess.Inventory == src)
			}
			obs := &collect{ms: map[string]provision.MachineState{}}
			if err := p.Apply(context.Background(), plan, provision.ApplyOptions{}, obs); err != nil {
				t.Fatal(err)
			}
			m := obs.ms["c01/srv"]
			if m.SSHHostKey != tc.wantPin || m.FirstSeenHostKey != tc.wantFirst || m.State != tc.wantState {
				t.Errorf("pin %q first-seen %q state %s (%s), want %q %q %s", m.SSHHostKey, m.FirstSeenHostKey, m.State, m.Error, tc.wantPin, tc.wantFirst, tc.wantState)
			}
			if tc.wantState == provision.StateNotReady && (!strings.Contains(m.Error, srv.Fingerprint) || !strings.Contains(m.Error, other.Fingerprint)) {
				t.Errorf("refusal does not name both keys: %s", m.Error)
			}
			if dc := obs.ms["c01/dc"]; dc.State != provision.StateNotReady || dc.Reach["smb"] != "smb 127.0.0.9:445: connection refused" {
				t.Errorf("dc: %s %v", dc.State, dc.Reach)
			}
		})
	}

	// The state pins the first key seen, and keeps it.
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, fp := range []string{"SHA256:first", "SHA256:second"} {
		if err := st.PutMachine(provision.MachineState{Session: "s", Candidate: "c01", Machine: "srv", FirstSeenHostKey: fp}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := st.Machines("s")
	if err != nil || len(ms) != 1 || ms[0].SSHHostKey != "SHA256:first" {
		t.Errorf("pinned %+v, %v; want SHA256:first", ms, err)
	}
}

func knownhostsLine(host string, port int, key ssh.PublicKey) string {
	return fmt.Sprintf("[%s]:%d %s", host, port, ssh.MarshalAuthorizedKey(key))
}

// TestTLSPin: the WinRM certificate the grader will trust is the inventory's
// fingerprint (any usual spelling), else the one presented at up, pinned
// once.
func TestTLSPin(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the reachability checks hang up without TLS
	srv.StartTLS()
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	fp := tlspin.Fingerprint(srv.Certificate().Raw)
	lab, roster := testLabAndRoster(t)
	colons := strings.ToUpper(fp[:2] + ":" + fp[2:])
	for _, tc := range []struct{ inv, wantPin, wantFirst string }{
		{"", "", fp},
		{`, tls_sha256: "` + colons + `"`, fp, ""},
	} {
		src := fmt.Sprintf("candidates:\n  c01: {srv: {address: 127.0.0.9}, dc: {address: %s, ports: {winrm: %s, smb: %s}%s}}\n  c02: {srv: {address: 127.0.0.9}, dc: {address: 127.0.0.9}}\n", host, port, port, tc.inv)
		inv, err := ParseInventory("inv.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		sess := &provision.Session{Name: "s", LabSource: lab.Source, LabYAML: testLab, Candidates: roster, Provider: Name}
		ins, _ := sess.Instances("c01")
		p := New(Config{Inventory: inv, InventoryYAML: []byte(src)})
		plan, err := p.Plan(context.Background(), sess, ins)
		if err != nil {
			t.Fatal(err)
		}
		obs := &collect{ms: map[string]provision.MachineState{}}
		if err := p.Apply(context.Background(), plan, provision.ApplyOptions{}, obs); err != nil {
			t.Fatal(err)
		}
		if dc := obs.ms["c01/dc"]; dc.TLSPin != tc.wantPin || dc.FirstSeenTLSPin != tc.wantFirst || dc.State != provision.StateReady {
			t.Errorf("inventory %q: pin %q first %q %s (%s)", tc.inv, dc.TLSPin, dc.FirstSeenTLSPin, dc.State, dc.Error)
		}
	}
	if _, err := ParseInventory("inv.yaml", []byte("candidates:\n  c01: {dc: {address: 10.0.0.1, tls_sha256: abc}}\n")); err == nil || !strings.Contains(err.Error(), `inv.yaml:2:45: candidates.c01.dc.tls_sha256: "abc" is not a SHA-256 fingerprint`) {
		t.Errorf("bad fingerprint: %v", err)
	}
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, pin := range []string{"first", "second"} {
		if err := st.PutMachine(provision.MachineState{Session: "s", Candidate: "c01", Machine: "dc", FirstSeenTLSPin: pin}); err != nil {
			t.Fatal(err)
		}
	}
	if ms, err := st.Machines("s"); err != nil || ms[0].TLSPin != "first" {
		t.Errorf("pinned %+v, %v; want first", ms, err)
	}
}
