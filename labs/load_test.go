package labs

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBrokenLabDiagnostics proves every mistake of a file is reported in one
// pass, each with file:line:column and the field (golden file).
func TestBrokenLabDiagnostics(t *testing.T) {
	_, err := LoadFile("testdata/broken.yaml")
	if err == nil {
		t.Fatal("broken lab loaded without error")
	}
	got := err.Error() + "\n"
	golden := filepath.Join("testdata", "broken.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		if !strings.HasPrefix(line, "testdata/broken.yaml:") {
			t.Errorf("diagnostic without file:line:col: %q", line)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	base := `name: l
networks: [{name: lan, cidr: 10.0.0.0/24}]
machines:
  - {name: a, role: client, kind: container, os: linux, nics: [{network: lan, address: 10.0.0.5}]}
`
	files := func(key string) string {
		return strings.Replace(base, "address: 10.0.0.5}]", "address: 10.0.0.5}], files: {/srv/ok: a, "+key+": x}", 1)
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"ok", base, ""},
		{"empty", "", "empty lab file"},
		{"syntax", "name: [", "invalid YAML"},
		{"not a mapping", "- a\n- b\n", "a lab file is a mapping"},
		{"unknown top key", base + "machine: []\n", `machine: unknown field (did you mean "machines"?)`},
		{"wrong type", strings.Replace(base, "name: l", "name: {x: 1}", 1), "name: expected a string"},
		{"network address", strings.Replace(base, "10.0.0.5", "10.0.0.255", 1), "10.0.0.255 is outside network lan"},
		{"vm without image", strings.Replace(base, "kind: container", "kind: vm", 1), "a vm needs a base image"},
		{"windows container", strings.Replace(base, "os: linux", "os: windows", 1), "a container runs linux"},
		{"bad template", strings.Replace(base, "10.0.0.5", "'{{ .Params.nope }}'", 1), `map has no entry for key "nope"`},
		{"bad memory", base + "defaults: {memory: 12 parsecs}\n", `unknown unit "parsecs"`},
		{"duplicate key", "name: a\nname: b\n", "duplicate key"},
		{"no machines", "name: l\nnetworks: []\nmachines: []\n", "at least one machine"},
		{"isolated dhcp", strings.Replace(base, "cidr: 10.0.0.0/24}", "cidr: 10.0.0.0/24, dhcp: {start: 10.0.0.10, end: 10.0.0.20}}", 1), "run DHCP in a lab machine"},
		// files: keys stay inside the machine (`validate` said ok, `up` wrote /srv/../../../tmp/x on the host).
		{"files traversal", files(`/srv/../../../tmp/x`), `t.yaml:4:120: machines[0].files: "/srv/../../../tmp/x": ` + "`..` is not allowed"},
		{"files dotdot last", files(`/srv/..`), "`..` is not allowed"},
		{"files relative", files(`srv/x`), `"srv/x": a path in the machine is absolute, e.g. /srv/x`},
		{"files relative dotdot", files(`../x`), "a path in the machine is absolute"},
		{"files empty", files(`""`), `t.yaml:4:120: machines[0].files: "": an empty path names no file`},
		{"files root", files(`/`), "/ names no file"},
		{"files nul", files(`"/srv/a\0b"`), "a path cannot hold a NUL byte"},
		{"files double slash", files(`//etc/x`), "not a clean path (did you mean /etc/x?)"},
		{"files dot", files(`/srv/./x`), "not a clean path (did you mean /srv/x?)"},
		{"files trailing slash", files(`/srv/x/`), "not a clean path (did you mean /srv/x?)"},
		{"files ok", files(`/etc/motd`), ""},
		{"access without ssh credentials", base + "defaults: {access: {user: root}}\n", "needs the machine's ssh credentials"},
		{"access via", base + "defaults: {access: {via: rdp}}\n", `unknown access "rdp"`},
		{"access console on a container", base + "defaults: {access: {via: console}}\n", "only a vm has a console"},
		{"access port", strings.Replace(base, "name: l\n", "name: l\nsecrets: {k: {ssh_key: true}}\n", 1) + "defaults: {credentials: {ssh: {user: root, key: k}}, access: {ports: [80, 70000]}}\n", "access.ports[1]: port 70000 out of range"},
		{"nat gateway clash", strings.Replace(strings.Replace(base, "cidr: 10.0.0.0/24}", "cidr: 10.0.0.0/24, mode: nat}", 1), "10.0.0.5", "10.0.0.1", 1), "the host's gateway address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml:") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestMergeDefaultsRoleMachine(t *testing.T) {
	src := `name: l
networks: [{name: lan, cidr: 10.0.0.0/24}]
defaults: {kind: container, os: linux, cpus: 1, memory: 64MiB, ready: {ssh: true, timeout: 10s}}
roles:
  server: {cpus: 2, services: [sshd], ready: {timeout: 20s}}
machines:
  - {name: a, role: server, nics: [{network: lan}]}
  - {name: b, role: server, cpus: 4, nics: [{network: lan}]}
  - {name: c, role: client, nics: [{network: lan}]}
`
	l, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		machine  string
		cpus     int
		services int
		timeout  string
		ssh      bool
	}{
		{"a", 2, 1, "20s", true},
		{"b", 4, 1, "20s", true},
		{"c", 1, 0, "10s", true},
	}
	for i, tt := range tests {
		m := l.Machines[i]
		if m.Name != tt.machine || m.CPUs != tt.cpus || len(m.Services) != tt.services || m.Ready.Timeout.D().String() != tt.timeout || m.Ready.SSH != tt.ssh {
			t.Errorf("machine %s: got cpus=%d services=%v timeout=%s ssh=%v, want %+v", m.Name, m.CPUs, m.Services, m.Ready.Timeout.D(), m.Ready.SSH, tt)
		}
	}
}

func TestResolveIsSeededAndDistinct(t *testing.T) {
	src := `name: l
parameters:
  user: {pick: [alice, bob, carol, dave], distinct: true}
  share: {pick: [docs, compta, rh, ventes, achats]}
  subnet: {type: cidr, template: "10.{{ add 100 .Index }}.0.0/24"}
networks: [{name: lan, cidr: "{{ .Params.subnet }}"}]
machines:
  - {name: a, role: client, kind: container, os: linux, hostname: "pc-{{ .Params.user }}", nics: [{network: lan}]}
`
	l, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 1; i <= 4; i++ {
		in := ResolveInput{Session: "s", Candidate: Candidate{ID: string(rune('a' + i)), Index: i}}
		a, err := l.Resolve(in)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := l.Resolve(in)
		if a.Params["user"] != b.Params["user"] || a.Params["share"] != b.Params["share"] {
			t.Fatalf("resolution is not deterministic: %v vs %v", a.Params, b.Params)
		}
		u := a.Params["user"].(string)
		if seen[u] {
			t.Errorf("distinct pick gave %q twice", u)
		}
		seen[u] = true
		if want := "pc-" + u; a.Machines[0].Hostname != want {
			t.Errorf("hostname %q, want %q", a.Machines[0].Hostname, want)
		}
		if want := "10." + itoa(100+i) + ".0.0/24"; a.Networks[0].CIDR != want {
			t.Errorf("cidr %q, want %q", a.Networks[0].CIDR, want)
		}
	}
}

func itoa(i int) string { return fmtInt(i) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestCatalogLoads(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("empty catalog")
	}
	if _, err := LoadBuiltin("nope"); err == nil || !strings.Contains(err.Error(), "tpe-local") {
		t.Errorf("unknown built-in should list valid names, got %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/broken.yaml", "catalog/tpe-local.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\nmachines: [{name: a, nics: [{network: n, address: '{{'}]}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Load("fuzz.yaml", data)
		if err == nil && l == nil {
			t.Fatal("nil lab without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
