package libvirt

// Unit tests of the provider on libvirt's built-in test driver (test:///default):
// an in-memory host that accepts LXC domains, networks and pools, with no daemon,
// no root and no network. Within a process, every open connection to
// test:///default shares one host, which is freed when the last connection
// closes: each test makes a provider (both URIs on that host), inspects the host
// through the provider's own connection and closes it at the end.
//
// These tests share the package's test binary with the integration tests, whose
// TestMain (main_test.go) may re-exec the binary inside a private libvirtd's
// network namespace: they only use test:///default, so they pass on either side.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lv "libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// TestDriverURI is libvirt's built-in in-memory test host.
const testDriverURI = "test:///default"

// tdLab is a two-network, two-container lab. It declares no readiness check:
// on the test driver nothing answers on the management addresses.
const tdLab = `name: td-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.30.0.0/24}
  - {name: dmz, cidr: 10.31.0.0/24}
defaults:
  kind: container
  os: linux
  memory: 64MiB
  credentials: {ssh: {user: root, key: key}}
machines:
  - {name: srv, role: server, services: [sshd], nics: [{network: lan, address: 10.30.0.10}, {network: dmz, address: 10.31.0.10}]}
  - {name: pc, role: client, services: [sshd], nics: [{network: lan, address: 10.30.0.20}]}
`

type tdObserver struct{}

func (tdObserver) Event(provision.Event)          {}
func (tdObserver) Machine(provision.MachineState) {}

// tdHost is one fresh test-driver host with an engine on top of it.
type tdHost struct {
	p       *Provider
	eng     *provision.Engine
	dataDir string
}

func newTDHost(t testing.TB) *tdHost {
	t.Helper()
	dataDir := t.TempDir()
	st, err := provision.OpenState(filepath.Join(dataDir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{QEMU: testDriverURI, LXC: testDriverURI, DataDir: dataDir,
		PoolDir: filepath.Join(dataDir, "pool"), ImageDir: filepath.Join(dataDir, "images"), VirtType: "qemu"})
	t.Cleanup(func() { p.Close() })
	return &tdHost{p: p, eng: &provision.Engine{State: st, Provider: p}, dataDir: dataDir}
}

// session creates (unsaved) session name of n numbered candidates on labYAML.
func (h *tdHost) session(t testing.TB, name, labYAML string, n int) *provision.Session {
	t.Helper()
	lab, err := labs.Load(name+".yaml", []byte(labYAML))
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.eng.NewSession(name, lab, []byte(labYAML), provision.NumberedCandidates(n), Name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// up plans and applies (no readiness wait), failing the test on error. It
// forces admission: the test host claims 3 MiB of free memory
// (TestTestDriverAdmission covers admission).
func (h *tdHost) up(t testing.TB, s *provision.Session) *provision.Plan {
	t.Helper()
	plan, err := h.eng.Plan(context.Background(), s, nil)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := h.eng.Up(context.Background(), plan, provision.ApplyOptions{NoWait: true, Force: true}, tdObserver{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return plan
}

// conn is the provider's connection: the only view of this in-memory host.
func (h *tdHost) conn(t testing.TB) *lv.Connect {
	t.Helper()
	c, err := h.p.conn("lxc")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// names lists the host's tailab domains and networks, sorted, as "domain NAME"
// (with " (inactive)" when not running) and "network NAME".
func (h *tdHost) names(t testing.TB) []string {
	t.Helper()
	c := h.conn(t)
	var out []string
	doms, err := c.ListAllDomains(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range doms {
		name, _ := doms[i].GetName()
		if strings.HasPrefix(name, naming.Prefix) {
			if active, _ := doms[i].IsActive(); active {
				out = append(out, "domain "+name)
			} else {
				out = append(out, "domain "+name+" (inactive)")
			}
		}
		doms[i].Free()
	}
	nets, err := c.ListAllNetworks(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nets {
		name, _ := nets[i].GetName()
		if strings.HasPrefix(name, naming.Prefix) {
			out = append(out, "network "+name)
		}
		nets[i].Free()
	}
	slices.Sort(out)
	return out
}

// ops summarises a plan as "op type name [reason]" lines, sorted.
func ops(p *provision.Plan) []string {
	var out []string
	for _, a := range p.Actions {
		s := fmt.Sprintf("%s %s %s", a.Op, a.Resource.Type, a.Resource.Name)
		if a.Reason != "" {
			s += " [" + a.Reason + "]"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// expected builds sorted "op type name" lines for a session's candidates.
func expected(op provision.Op, session string, candidates int, nets, machines []string, mgmt bool) []string {
	var out []string
	if mgmt {
		out = append(out, fmt.Sprintf("%s network %s", op, naming.MgmtNetworkName(session)))
	}
	for i := 1; i <= candidates; i++ {
		c := fmt.Sprintf("c%02d", i)
		for _, n := range nets {
			out = append(out, fmt.Sprintf("%s network %s", op, naming.NetworkName(session, c, n)))
		}
		for _, m := range machines {
			out = append(out, fmt.Sprintf("%s domain %s", op, naming.DomainName(session, c, m)))
		}
	}
	slices.Sort(out)
	return out
}

func TestTestDriverPlanNewSession(t *testing.T) {
	tests := []struct {
		name       string
		lab        string
		candidates int
		nets       []string
		machines   []string
	}{
		{"one candidate", tdLab, 1, []string{"dmz", "lan"}, []string{"pc", "srv"}},
		{"three candidates", tdLab, 3, []string{"dmz", "lan"}, []string{"pc", "srv"}},
		{"one network, one machine", `name: bare
networks: [{name: net, cidr: 192.168.9.0/24}]
defaults: {kind: container, os: linux, memory: 32MiB}
machines:
  - {name: box, role: server, nics: [{network: net}]}
`, 2, []string{"net"}, []string{"box"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTDHost(t)
			s := h.session(t, "s1", tt.lab, tt.candidates)
			plan, err := h.eng.Plan(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := expected(provision.OpCreate, "s1", tt.candidates, tt.nets, tt.machines, true)
			if got := ops(plan); !slices.Equal(got, want) {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			lab, _ := s.LoadLab()
			var mem int64
			for _, m := range lab.Machines {
				mem += m.Memory.MiB()
			}
			// Containers reserve no vCPU: only VMs count against the host's CPUs.
			if plan.Needs.MemoryMiB != mem*int64(tt.candidates) || plan.Needs.CPUs != 0 {
				t.Errorf("needs %+v, want %d MiB and 0 vCPUs (containers)", plan.Needs, mem*int64(tt.candidates))
			}
			if plan.Offers.CPUs == 0 {
				t.Errorf("offers %+v: the test host has CPUs", plan.Offers)
			}
			if got := h.names(t); len(got) != 0 {
				t.Errorf("Plan changed the host: %v", got)
			}
		})
	}
}

// TestTestDriverReconcile applies a session, changes its lab, and checks the
// second plan (keep / replace / remove, with reasons), that applying it
// converges (a third plan keeps everything) and what the host then holds.
func TestTestDriverReconcile(t *testing.T) {
	const reasonChanged = "the lab changed since it was created"
	tests := []struct {
		name     string
		change   func(lab string) string
		want     func(s string) []string // second plan
		machines []string                // machines each candidate has afterwards
		memMiB   uint                    // srv's memory afterwards
	}{
		{
			name:   "unchanged: all keep",
			change: func(lab string) string { return lab },
			want: func(s string) []string {
				return expected(provision.OpKeep, s, 2, []string{"dmz", "lan"}, []string{"pc", "srv"}, true)
			},
			machines: []string{"pc", "srv"}, memMiB: 64,
		},
		{
			name:   "memory changed: replace",
			change: func(lab string) string { return strings.Replace(lab, "memory: 64MiB", "memory: 128MiB", 1) },
			want: func(s string) []string {
				out := expected(provision.OpKeep, s, 2, []string{"dmz", "lan"}, nil, true)
				for _, l := range expected(provision.OpReplace, s, 2, nil, []string{"pc", "srv"}, false) {
					out = append(out, l+" ["+reasonChanged+"]")
				}
				slices.Sort(out)
				return out
			},
			machines: []string{"pc", "srv"}, memMiB: 128,
		},
		{
			name: "one machine's address changed: only it is replaced",
			change: func(lab string) string {
				return strings.Replace(lab, "address: 10.30.0.20}", "address: 10.30.0.21}", 1)
			},
			want: func(s string) []string {
				out := expected(provision.OpKeep, s, 2, []string{"dmz", "lan"}, []string{"srv"}, true)
				for _, l := range expected(provision.OpReplace, s, 2, nil, []string{"pc"}, false) {
					out = append(out, l+" ["+reasonChanged+"]")
				}
				slices.Sort(out)
				return out
			},
			machines: []string{"pc", "srv"}, memMiB: 64,
		},
		{
			name: "machine removed from the lab: remove",
			change: func(lab string) string {
				i := strings.Index(lab, "  - {name: pc,")
				return lab[:i]
			},
			want: func(s string) []string {
				out := expected(provision.OpKeep, s, 2, []string{"dmz", "lan"}, []string{"srv"}, true)
				for _, l := range expected(provision.OpRemove, s, 2, nil, []string{"pc"}, false) {
					out = append(out, l+" [no longer in the lab]")
				}
				slices.Sort(out)
				return out
			},
			machines: []string{"srv"}, memMiB: 64,
		},
		{
			name: "network removed from the lab: remove",
			change: func(lab string) string {
				lab = strings.Replace(lab, "  - {name: dmz, cidr: 10.31.0.0/24}\n", "", 1)
				return strings.Replace(lab, ", {network: dmz, address: 10.31.0.10}", "", 1)
			},
			want: func(s string) []string {
				out := expected(provision.OpKeep, s, 2, []string{"lan"}, []string{"pc"}, true)
				for _, l := range expected(provision.OpReplace, s, 2, nil, []string{"srv"}, false) {
					out = append(out, l+" ["+reasonChanged+"]")
				}
				for _, l := range expected(provision.OpRemove, s, 2, []string{"dmz"}, nil, false) {
					out = append(out, l+" [no longer in the lab]")
				}
				slices.Sort(out)
				return out
			},
			machines: []string{"pc", "srv"}, memMiB: 64,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTDHost(t)
			s := h.session(t, "rc", tdLab, 2)
			h.up(t, s)
			s.LabYAML = tt.change(tdLab)
			plan, err := h.eng.Plan(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ops(plan), tt.want("rc"); !slices.Equal(got, want) {
				t.Fatalf("second plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if err := h.eng.Up(context.Background(), plan, provision.ApplyOptions{NoWait: true, Force: true}, tdObserver{}); err != nil {
				t.Fatalf("apply the second plan: %v", err)
			}
			third, err := h.eng.Plan(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := third.Count(provision.OpKeep); n != len(third.Actions) {
				t.Errorf("third plan does not keep everything: %s\n  %s", third.Summary(), strings.Join(ops(third), "\n  "))
			}
			for _, c := range []string{"c01", "c02"} {
				for _, m := range []string{"pc", "srv"} {
					_, err := os.Stat(machineDir(h.dataDir, "rc", c, m))
					if has := slices.Contains(tt.machines, m); has != (err == nil) {
						t.Errorf("%s/%s: machine dir exists=%v, want %v", c, m, err == nil, has)
					}
				}
				dom, err := h.conn(t).LookupDomainByName(naming.DomainName("rc", c, "srv"))
				if err != nil {
					t.Fatal(err)
				}
				x, _ := dom.GetXMLDesc(0)
				dom.Free()
				var d libvirtxml.Domain
				if err := d.Unmarshal(x); err != nil {
					t.Fatal(err)
				}
				if got := d.Memory.Value >> 10; got != tt.memMiB { // KiB
					t.Errorf("%s/srv has %d MiB, want %d", c, got, tt.memMiB)
				}
			}
		})
	}
}

// TestTestDriverStartsStoppedMachines: a domain shut off behind tailab's back is
// kept (with a reason) and started again; an undefined one is created.
func TestTestDriverStartsStoppedMachines(t *testing.T) {
	h := newTDHost(t)
	s := h.session(t, "st", tdLab, 1)
	h.up(t, s)
	c := h.conn(t)
	stopped := naming.DomainName("st", "c01", "srv")
	gone := naming.DomainName("st", "c01", "pc")
	for _, name := range []string{stopped, gone} {
		d, err := c.LookupDomainByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Destroy(); err != nil {
			t.Fatal(err)
		}
		if name == gone {
			if err := d.Undefine(); err != nil {
				t.Fatal(err)
			}
		}
		d.Free()
	}

	ins, err := s.Instances()
	if err != nil {
		t.Fatal(err)
	}
	states, err := h.p.Status(context.Background(), s, ins)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range states {
		got[m.Machine] = m.State
	}
	if got["srv"] != provision.StateStopped || got["pc"] != provision.StateMissing {
		t.Errorf("status %v, want srv stopped and pc missing", got)
	}

	plan, err := h.eng.Plan(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create domain " + gone,
		"keep domain " + stopped + " [defined but not running: will be started]",
		"keep network " + naming.MgmtNetworkName("st"),
		"keep network " + naming.NetworkName("st", "c01", "dmz"),
		"keep network " + naming.NetworkName("st", "c01", "lan"),
	}
	slices.Sort(want)
	if got := ops(plan); !slices.Equal(got, want) {
		t.Fatalf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if err := h.eng.Up(context.Background(), plan, provision.ApplyOptions{NoWait: true, Force: true}, tdObserver{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range h.names(t) {
		if strings.HasSuffix(n, "(inactive)") {
			t.Errorf("still not running: %s", n)
		}
	}
	if states, err = h.p.Status(context.Background(), s, ins); err != nil {
		t.Fatal(err)
	}
	for _, m := range states {
		if m.State != provision.StateRunning || m.Error != "" {
			t.Errorf("%s: state %s %s, want running", m.Machine, m.State, m.Error)
		}
	}
}

func TestTestDriverDestroy(t *testing.T) {
	tests := []struct {
		name       string
		candidates []string // destroyed
		left       func(s string) []string
	}{
		{"whole session", nil, func(string) []string { return nil }},
		{"one candidate", []string{"c02"}, func(s string) []string {
			out := []string{"network " + naming.MgmtNetworkName(s)}
			for _, l := range expected("", s, 1, []string{"dmz", "lan"}, []string{"pc", "srv"}, false) {
				out = append(out, strings.TrimPrefix(l, " "))
			}
			slices.Sort(out)
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTDHost(t)
			s := h.session(t, "dd", tdLab, 2)
			other := h.session(t, "other", tdLab, 1)
			other.MgmtCIDR = "10.249.0.0/16"
			h.up(t, s)
			h.up(t, other)
			before := h.names(t)
			if err := h.eng.Down(context.Background(), s, tt.candidates, tdObserver{}); err != nil {
				t.Fatalf("down: %v", err)
			}
			var got []string
			for _, n := range h.names(t) {
				if !strings.Contains(n, "tl-other.") {
					got = append(got, n)
				}
			}
			if want := tt.left("dd"); !slices.Equal(got, want) {
				t.Errorf("left after down (had %d):\n  %s\nwant:\n  %s", len(before), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for _, c := range []string{"c01", "c02"} {
				_, err := os.Stat(filepath.Join(h.dataDir, "machines", "dd", c))
				if kept := len(tt.candidates) > 0 && !slices.Contains(tt.candidates, c); kept != (err == nil) {
					t.Errorf("machine dir of %s exists=%v, want %v", c, err == nil, kept)
				}
			}
			if len(tt.candidates) == 0 {
				if _, err := os.Stat(filepath.Join(h.dataDir, "machines", "dd")); !os.IsNotExist(err) {
					t.Errorf("machine dir of the session is still there (%v)", err)
				}
			}
			if n := len(expected("", "other", 1, []string{"dmz", "lan"}, []string{"pc", "srv"}, true)); countPrefix(h.names(t), "tl-other.") != n {
				t.Errorf("down touched another session: %v", h.names(t))
			}
			// Destroying what is gone is not an error.
			if err := h.p.Destroy(context.Background(), s, tt.candidates, tdObserver{}); err != nil {
				t.Errorf("second destroy: %v", err)
			}
		})
	}
}

func uniqueNames(rs []provision.Resource) []provision.Resource {
	seen := map[string]bool{}
	var out []provision.Resource
	for _, r := range rs {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r)
		}
	}
	return out
}

func countPrefix(names []string, sub string) int {
	n := 0
	for _, x := range names {
		if strings.Contains(x, sub) {
			n++
		}
	}
	return n
}

// TestTestDriverOrphans: resources of a session that is not kept are orphans
// (domains, networks, machine dirs, overlays); RemoveOrphans removes them and
// only them.
func TestTestDriverOrphans(t *testing.T) {
	h := newTDHost(t)
	live := h.session(t, "live", tdLab, 1)
	h.up(t, live)
	gone := h.session(t, "gone", tdLab, 2)
	gone.MgmtCIDR = "10.249.0.0/16"
	h.up(t, gone)
	// A stray overlay of the deleted session in the pool.
	if err := os.MkdirAll(h.p.cfg.PoolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	stray := naming.VolumeName("gone", "c01", "vm", 0)
	if err := os.WriteFile(filepath.Join(h.p.cfg.PoolDir, stray), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		keep map[string]bool
		want int // orphans
	}{
		{"both kept", map[string]bool{"live": true, "gone": true}, 0},
		// gone: 4 domains + mgmt + 4 lab networks + its machines dir + 1 overlay
		{"gone is not kept", map[string]bool{"live": true}, 4 + 1 + 4 + 1 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := h.p.Orphans(context.Background(), tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			// Both URIs are the same test host here, so its domains are listed
			// once as domain/lxc and once as domain/qemu: count names.
			rs = uniqueNames(rs)
			if len(rs) != tt.want {
				t.Errorf("%d orphans, want %d: %+v", len(rs), tt.want, rs)
			}
			for _, r := range rs {
				if strings.Contains(r.Name, "live") {
					t.Errorf("orphan of a kept session: %+v", r)
				}
			}
		})
	}

	rs, err := h.p.Orphans(context.Background(), map[string]bool{"live": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.p.RemoveOrphans(context.Background(), rs); err != nil {
		t.Fatalf("remove orphans: %v", err)
	}
	if rs, _ := h.p.Orphans(context.Background(), map[string]bool{"live": true}); len(rs) != 0 {
		t.Errorf("orphans left after RemoveOrphans: %+v", rs)
	}
	if n := countPrefix(h.names(t), "tl-gone."); n != 0 {
		t.Errorf("%d resources of the removed session left: %v", n, h.names(t))
	}
	if _, err := os.Stat(filepath.Join(h.p.cfg.PoolDir, stray)); !os.IsNotExist(err) {
		t.Errorf("stray overlay still there")
	}
	want := expected("", "live", 1, []string{"dmz", "lan"}, []string{"pc", "srv"}, true)
	if got := h.names(t); len(got) != len(want) || countPrefix(got, "tl-live.") != len(want) {
		t.Errorf("kept session damaged: %v", got)
	}
	if _, err := os.Stat(machineDir(h.dataDir, "live", "c01", "srv")); err != nil {
		t.Errorf("kept session's machine dir: %v", err)
	}
}

// TestTestDriverAdmission: a plan whose new machines need more than the host
// offers is refused by Admit and by Apply (which then creates nothing), unless
// forced. The test host reports 3 MiB of free memory, so the offers are set here.
func TestTestDriverAdmission(t *testing.T) {
	tests := []struct {
		name   string
		offers provision.Capacity
		force  bool
		err    string
	}{
		{"enough", provision.Capacity{CPUs: 2, MemoryMiB: 1024}, false, ""},
		{"exactly enough", provision.Capacity{CPUs: 1, MemoryMiB: 3 * 2 * 64}, false, ""},
		{"too little memory", provision.Capacity{CPUs: 2, MemoryMiB: 300}, false, "memory: the new machines need 384 MiB, the host has 300 MiB free"},
		{"forced", provision.Capacity{CPUs: 2, MemoryMiB: 10}, true, ""},
		{"unknown offers", provision.Capacity{}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTDHost(t)
			s := h.session(t, "ad", tdLab, 3)
			plan, err := h.eng.Plan(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Needs.MemoryMiB != 3*2*64 || plan.Needs.CPUs != 0 {
				t.Fatalf("needs %+v, want 384 MiB and 0 vCPUs (containers reserve none)", plan.Needs)
			}
			plan.Offers = tt.offers
			err = provision.Admit(plan)
			if tt.force {
				err = nil
			}
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Admit: %v, want %q", err, tt.err)
			}
			lab, _ := s.LoadLab()
			err = h.p.Apply(context.Background(), plan, provision.ApplyOptions{NoWait: true, Force: tt.force,
				Secrets: func(c string) (map[string]secret.Value, error) { return h.eng.State.Secrets(s.Name, lab, c) }}, tdObserver{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Apply: %v, want %q", err, tt.err)
				}
				if got := h.names(t); len(got) != 0 {
					t.Errorf("a refused plan created: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := len(h.names(t)); got != len(plan.Actions) {
				t.Errorf("%d resources on the host, want %d", got, len(plan.Actions))
			}
		})
	}
}

// TestTestDriverReadinessDoesNotHoldSlots: with --parallel 1, machines that are
// slow to become ready must not wait for each other's readiness (Apply bounds
// how many machines are being created at once, not how many are awaited).
func TestTestDriverReadinessDoesNotHoldSlots(t *testing.T) {
	const machines, timeout = 4, time.Second
	h := newTDHost(t)
	lab := strings.Replace(tdLab, "  credentials:", "  ready: {tcp: 9, timeout: 1s}\n  credentials:", 1)
	s := h.session(t, "slots", lab, machines/2)
	s.MgmtCIDR = "127.77.0.0/16" // port 9 on loopback: refused, every wait times out
	plan, err := h.eng.Plan(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs := &countObserver{}
	start := time.Now()
	err = h.eng.Up(context.Background(), plan, provision.ApplyOptions{Parallel: 1, Force: true}, obs)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "not ready after 1s") {
		t.Errorf("apply: %v, want every machine not ready", err)
	}
	if obs.running.Load() != machines {
		t.Errorf("%d machines started, want %d", obs.running.Load(), machines)
	}
	if took > 3*timeout {
		t.Errorf("apply took %s: readiness waits ran one after the other (%d × %s)", took, machines, timeout)
	}
}

type countObserver struct{ running atomic.Int32 }

func (*countObserver) Event(provision.Event) {}
func (o *countObserver) Machine(m provision.MachineState) {
	if m.State == provision.StateRunning {
		o.running.Add(1)
	}
}

func TestAdmitCPUs(t *testing.T) {
	tests := []struct {
		needs, cpus int
		err         bool
	}{{8, 1, false}, {9, 1, true}, {16, 2, false}, {17, 2, true}, {100, 0, false}}
	for _, tt := range tests {
		p := &provision.Plan{Needs: provision.Capacity{CPUs: tt.needs}, Offers: provision.Capacity{CPUs: tt.cpus}}
		if err := provision.Admit(p); (err != nil) != tt.err {
			t.Errorf("%d vCPUs on %d CPUs: %v, want error %v", tt.needs, tt.cpus, err, tt.err)
		} else if err != nil && !strings.Contains(err.Error(), "CPU") {
			t.Errorf("error does not name CPUs: %v", err)
		}
	}
}
