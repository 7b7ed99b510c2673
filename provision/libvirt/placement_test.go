package libvirt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

func TestPlace(t *testing.T) {
	tests := []struct {
		name   string
		loads  []hostLoad
		needs  []int64
		placed map[string]string
		want   []string // host of c01, c02, ...
	}{
		{"most free memory", []hostLoad{{Name: "a", FreeMiB: 1000}, {Name: "b", FreeMiB: 2000}}, []int64{100}, nil, []string{"b"}},
		{"counts what it placed", []hostLoad{{Name: "a", FreeMiB: 1000}, {Name: "b", FreeMiB: 1150}}, []int64{100, 100, 100}, nil, []string{"b", "b", "a"}},
		{"tie: most CPUs", []hostLoad{{Name: "a", FreeMiB: 1000, CPUs: 4}, {Name: "b", FreeMiB: 1000, CPUs: 8}}, []int64{100}, nil, []string{"b"}},
		{"tie: first listed", []hostLoad{{Name: "a", FreeMiB: 1000, CPUs: 4}, {Name: "b", FreeMiB: 1000, CPUs: 4}}, []int64{100}, nil, []string{"a"}},
		{"placed ones stay", []hostLoad{{Name: "a", FreeMiB: 10}, {Name: "b", FreeMiB: 2000}}, []int64{100, 100}, map[string]string{"c01": "a"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var needs []candidateNeed
			for i, m := range tt.needs {
				needs = append(needs, candidateNeed{Candidate: fmt.Sprintf("c%02d", i+1), MemoryMiB: m})
			}
			got := place(tt.loads, needs, tt.placed)
			for i, w := range tt.want {
				if c := fmt.Sprintf("c%02d", i+1); got[c] != w {
					t.Errorf("%s on %s, want %s (all: %v)", c, got[c], w, got)
				}
			}
		})
	}
}

func TestParseHostSpec(t *testing.T) {
	tests := []struct {
		spec    string
		want    Host
		wantErr string
	}{
		{"kvm1=qemu+ssh://root@kvm1/system", Host{Name: "kvm1", QEMU: "qemu+ssh://root@kvm1/system", LXC: "lxc+ssh://root@kvm1/system"}, ""},
		{"a=qemu:///system?socket=/d/sock,lxc:///system?socket=/d/sock", Host{Name: "a", QEMU: "qemu:///system?socket=/d/sock", LXC: "lxc:///system?socket=/d/sock"}, ""},
		{"t=test:///default", Host{Name: "t", QEMU: "test:///default", LXC: "test:///default"}, ""},
		{"qemu:///system", Host{}, "NAME=QEMU_URI"},
		{"a b=qemu:///system", Host{}, "no spaces"},
	}
	for _, tt := range tests {
		h, err := ParseHostSpec(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || h != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.spec, h, err, tt.want)
		}
	}
}

func TestLoadHosts(t *testing.T) {
	f := filepath.Join(t.TempDir(), "hosts.yaml")
	os.WriteFile(f, []byte("hosts:\n  - {name: kvm1, qemu: \"qemu+tls://kvm1/system\"}\n"), 0o644)
	hs, err := LoadHosts(f, []string{"kvm2=qemu+ssh://kvm2/system", "kvm3=qemu+ssh://kvm3/system"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hs {
		names = append(names, h.Name+" "+h.LXC)
	}
	want := []string{"kvm1 lxc+tls://kvm1/system", "kvm2 lxc+ssh://kvm2/system", "kvm3 lxc+ssh://kvm3/system"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("got %q, want %q", names, want)
	}
	if _, err := LoadHosts("", []string{"a=qemu:///x", "a=qemu:///y"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate names: %v", err)
	}
	os.WriteFile(f, []byte("hosts:\n  - {name: kvm1, qemu: x, port: 3}\n"), 0o644)
	if _, err := LoadHostsFile(f); err == nil || !strings.Contains(err.Error(), "hosts.yaml:2") {
		t.Errorf("unknown field: %v", err)
	}
}

// nodeFile writes a libvirt test-driver node: each test:///PATH connection
// opens a host of its own (unlike test:///default, shared in the process).
func nodeFile(t *testing.T, name string, memMiB, cpus int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".xml")
	x := fmt.Sprintf(`<node><cpu><mhz>2000</mhz><model>x86_64</model><active>%d</active><total>%d</total>
<nodes>1</nodes><sockets>1</sockets><cores>%d</cores><threads>1</threads></cpu><memory>%d</memory></node>`, cpus, cpus, cpus, memMiB*1024)
	if err := os.WriteFile(path, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newTwoHosts is a provider over hosts a (1024 MiB, 8 CPUs) and b (1152 MiB,
// 4 CPUs): with 128 MiB per candidate, c01 goes to b, c02 to a (tie, more
// CPUs), c03 to b, c04 to a.
func newTwoHosts(t *testing.T) *tdHost {
	t.Helper()
	h := newTDHost(t)
	a := "test://" + nodeFile(t, "nodeA", 1024, 8)
	b := "test://" + nodeFile(t, "nodeB", 1152, 4)
	cfg := h.p.cfg
	cfg.Hosts = []Host{{Name: "a", QEMU: a, LXC: a}, {Name: "b", QEMU: b, LXC: b}}
	h.p.Close()
	h.p = New(cfg)
	t.Cleanup(func() { h.p.Close() })
	h.eng.Provider = h.p
	return h
}

// onHost lists the tailab domains and networks of one host.
func (h *tdHost) onHost(t *testing.T, name string) []string {
	t.Helper()
	v := &tdHost{p: h.p.on(h.p.host(name))}
	return v.names(t)
}

// hostsOf maps each domain of a plan to its host.
func hostsOf(plan *provision.Plan) map[string]string {
	out := map[string]string{}
	for _, a := range plan.Actions {
		if a.Resource.Type == "domain" {
			out[a.Resource.Candidate+"/"+a.Resource.Machine] = a.Resource.Host + " " + string(a.Op)
		}
	}
	return out
}

func TestMultiHostPlacementStickyDestroy(t *testing.T) {
	ctx := context.Background()
	h := newTwoHosts(t)
	s := h.session(t, "mh", tdLab, 4)
	plan := h.up(t, s)
	want := map[string]string{}
	for c, host := range map[string]string{"c01": "b", "c02": "a", "c03": "b", "c04": "a"} {
		for _, m := range []string{"pc", "srv"} {
			want[c+"/"+m] = host + " create"
		}
	}
	if got := hostsOf(plan); !reflect.DeepEqual(got, want) {
		t.Fatalf("placement:\n got %v\nwant %v", got, want)
	}
	for _, host := range []string{"a", "b"} {
		names := h.onHost(t, host)
		if n := countPrefix(names, "domain "); n != 4 {
			t.Errorf("host %s: %d domains, want 4: %q", host, n, names)
		}
		if !slices.Contains(names, "network "+naming.MgmtNetworkName("mh")) {
			t.Errorf("host %s has no management network: %q", host, names)
		}
	}

	// Status reports every machine from its own host.
	states, err := h.p.Status(ctx, s, plan.Instances)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if w := want[st.Key()]; st.State != provision.StateRunning || !strings.HasPrefix(w, st.Host+" ") {
			t.Errorf("%s: %s on %q, want running on %s", st.Key(), st.State, st.Host, w)
		}
	}

	// Sticky: c02 alone would go to b (more free memory), but it lives on a.
	again, err := h.p.Plan(ctx, s, plan.Instances[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if got := hostsOf(again); got["c02/pc"] != "a keep" || got["c02/srv"] != "a keep" || again.Count(provision.OpCreate) != 0 {
		t.Errorf("re-plan of c02: %v (%s)", got, again.Summary())
	}
	// The whole session again: everything kept where it is.
	again, err = h.p.Plan(ctx, s, plan.Instances)
	if err != nil {
		t.Fatal(err)
	}
	if again.Count(provision.OpKeep) != len(again.Actions) {
		t.Errorf("re-plan: %s", again.Summary())
	}

	// gc sees both hosts' domains, each with its host.
	orphans, err := h.p.Orphans(ctx, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	perHost := map[string]int{}
	for _, r := range orphans {
		if strings.HasPrefix(r.Type, "domain/") {
			perHost[r.Host]++
		}
	}
	if perHost["a"] != 4 || perHost["b"] != 4 {
		t.Errorf("orphan domains per host: %v", perHost)
	}

	// Down: one candidate, then the rest; nothing left on either host.
	if err := h.p.Destroy(ctx, s, []string{"c01"}, tdObserver{}); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(h.onHost(t, "b"), "domain "); n != 2 {
		t.Errorf("after down c01, host b has %d domains, want 2", n)
	}
	if err := h.p.Destroy(ctx, s, nil, tdObserver{}); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"a", "b"} {
		if names := h.onHost(t, host); len(names) != 0 {
			t.Errorf("host %s after down: %q", host, names)
		}
	}
}

func TestMultiHostRemoveOrphans(t *testing.T) {
	ctx := context.Background()
	h := newTwoHosts(t)
	s := h.session(t, "gone", tdLab, 2)
	h.up(t, s)
	orphans, err := h.p.Orphans(ctx, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.p.RemoveOrphans(ctx, orphans); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"a", "b"} {
		if names := h.onHost(t, host); len(names) != 0 {
			t.Errorf("host %s after gc: %q", host, names)
		}
	}
}
