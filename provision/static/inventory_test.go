package static

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
)

const testLab = `name: salle
networks: [{name: lan, cidr: 10.0.0.0/24}]
secrets: {pw: {env: PW}}
defaults: {kind: vm, image: existing, os: linux}
machines:
  - {name: srv, role: server, nics: [{network: lan}], credentials: {ssh: {user: root, password: pw}}}
  - {name: dc, role: dc, nics: [{network: lan}], credentials: {smb: {user: admin, password: pw}}}
`

func testLabAndRoster(t *testing.T) (*labs.Lab, []labs.Candidate) {
	t.Helper()
	lab, err := labs.Load("salle.yaml", []byte(testLab))
	if err != nil {
		t.Fatal(err)
	}
	return lab, []labs.Candidate{{ID: "c01", LastName: "Durand", FirstName: "Paul"}, {ID: "c02"}}
}

func TestInventoryDiagnostics(t *testing.T) {
	lab, roster := testLabAndRoster(t)
	tests := []struct {
		name, src, want string // want: "" for a valid inventory
	}{
		{"valid, shared dc", `
machines:
  dc: {address: 10.0.0.10}
  srv: {ports: {ssh: 2222}}
candidates:
  c01: {srv: {address: 10.0.0.11, host_key: "SHA256:abc"}}
  c02: {srv: {address: pc02.salle.lan, addresses: {lan: 10.0.0.12}}}
`, ""},
		{"unknown key", "candidates:\n  c01: {srv: {adress: 10.0.0.1}}\n", `inv.yaml:2:15: candidates.c01.srv.adress: unknown field (did you mean "address"?)`},
		{"bad port", "candidates:\n  c01: {srv: {address: 10.0.0.1, ports: {ssh: 70000}}}\n", `inv.yaml:2:41: candidates.c01.srv.ports.ssh: port 70000 out of range 1-65535`},
		{"unknown transport", "candidates:\n  c01: {srv: {address: 10.0.0.1, ports: {shh: 22}}}\n", `candidates.c01.srv.ports.shh: unknown transport "shh" (did you mean "ssh"?)`},
		{"bad address", "candidates:\n  c01: {srv: {address: 'not an address'}}\n", `inv.yaml:2:24: candidates.c01.srv.address: "not an address" is neither an IP address nor a host name`},
		{"placeholder", "candidates:\n  c01: {srv: {address: _FILL_ME_}}\n", `inv.yaml:2:24: candidates.c01.srv.address: replace _FILL_ME_ with the machine's address`},
		{"bad fingerprint", "candidates:\n  c01: {srv: {address: 10.0.0.1, host_key: abc}}\n", `inv.yaml:2:44: candidates.c01.srv.host_key: "abc" is not a SHA256 fingerprint`},
		{"no candidates", "lab: salle\n", `inv.yaml:1:1: candidates: no candidates`},
		{"another lab", "lab: autre\ncandidates:\n  c01: {srv: {address: 10.0.0.1}, dc: {address: 10.0.0.2}}\n  c02: {srv: {address: 10.0.0.3}, dc: {address: 10.0.0.2}}\n", `inv.yaml:1:6: lab: the inventory is for lab "autre", not "salle"`},
		{"unknown candidate", "candidates:\n  c01: {srv: {address: 10.0.0.1}, dc: {address: 10.0.0.2}}\n  c03: {srv: {address: 10.0.0.3}}\n", `inv.yaml:3:3: candidates.c03: candidate "c03" is not in the roster (did you mean "c01"?)`},
		{"unknown machine", "candidates:\n  c01: {srv: {address: 10.0.0.1}, dcc: {address: 10.0.0.2}}\n", `inv.yaml:2:35: candidates.c01.dcc: unknown machine "dcc" (did you mean "dc"?)`},
		{"missing machine", "candidates:\n  c01: {srv: {address: 10.0.0.1}}\n  c02: {srv: {address: 10.0.0.3}, dc: {address: 10.0.0.2}}\n", `inv.yaml:2:3: candidates.c01: no address for candidate c01's machine(s) dc`},
		{"unknown network", "candidates:\n  c01: {srv: {address: 10.0.0.1, addresses: {lann: 10.0.0.1}}, dc: {address: 10.0.0.2}}\n  c02: {srv: {address: 10.0.0.3}, dc: {address: 10.0.0.2}}\n", `machine "srv" has no NIC on network "lann" (did you mean "lan"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := ParseInventory("inv.yaml", []byte(tc.src))
			if err == nil {
				err = inv.Check(lab, roster)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
	inv, _ := ParseInventory("inv.yaml", []byte(tests[0].src))
	if e, ok := inv.Entry("c01", "srv"); !ok || e.Address != "10.0.0.11" || e.Ports["ssh"] != 2222 || e.HostKey != "SHA256:abc" {
		t.Errorf("c01/srv = %+v", e)
	}
	if e, ok := inv.Entry("c02", "dc"); !ok || e.Address != "10.0.0.10" {
		t.Errorf("c02/dc (shared) = %+v", e)
	}
}

// TestSkeleton: the skeleton names every candidate and machine, and is
// refused until its placeholders are replaced.
func TestSkeleton(t *testing.T) {
	lab, roster := testLabAndRoster(t)
	sk := string(Skeleton(lab, roster))
	for _, want := range []string{"lab: salle\n", "  c01:   # DURAND Paul\n", "    srv: {address: _FILL_ME_}\n", "  dc: {}   # graded over [smb]\n"} {
		if !strings.Contains(sk, want) {
			t.Errorf("skeleton lacks %q:\n%s", want, sk)
		}
	}
	if _, err := ParseInventory("inv.yaml", []byte(sk)); err == nil || !strings.Contains(err.Error(), "replace _FILL_ME_") {
		t.Errorf("skeleton as is: %v", err)
	}
	filled := strings.ReplaceAll(sk, Placeholder, "10.0.0.9")
	inv, err := ParseInventory("inv.yaml", []byte(filled))
	if err == nil {
		err = inv.Check(lab, roster)
	}
	if err != nil {
		t.Errorf("filled skeleton: %v", err)
	}
}

// TestCheckSecrets: an existing machine cannot know a secret tailab makes up.
func TestCheckSecrets(t *testing.T) {
	lab, _ := testLabAndRoster(t)
	if err := CheckSecrets(lab); err != nil {
		t.Errorf("env secrets: %v", err)
	}
	gen, err := labs.Load("salle.yaml", []byte(strings.Replace(testLab, "pw: {env: PW}", "pw: {generate: true}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckSecrets(gen)
	if err == nil || !strings.Contains(err.Error(), `salle.yaml:6:97: machines[0].credentials.ssh.password: secret "pw" is made up by tailab`) {
		t.Errorf("err = %v", err)
	}
}
