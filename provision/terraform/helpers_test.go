package terraform

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// testLab has a container, a Linux VM with an extra disk on a nat network and
// a Windows VM with a password secret.
const testLab = `name: tf-lab
secrets:
  ssh-key: {ssh_key: true}
  admin: {generate: true, length: 20}
parameters:
  wan: {type: cidr, template: "10.{{ add 100 .Index }}.0.0/24"}
networks:
  - {name: lan, cidr: 10.20.0.0/24}
  - {name: wan, cidr: "{{ .Params.wan }}", mode: nat}
defaults:
  kind: container
  os: linux
  memory: 64MiB
  credentials: {ssh: {user: root, key: ssh-key}}
machines:
  - name: srv
    role: server
    services: [sshd]
    nics: [{network: lan, address: 10.20.0.10}]
  - name: gw
    role: router
    kind: vm
    image: debian-12
    memory: 512MiB
    cpus: 2
    disks: [{name: data, size: 1GiB}]
    nics: [{network: lan, address: 10.20.0.1}, {network: wan, address: dhcp}]
  - name: pc1
    role: client
    kind: vm
    os: windows
    image: win11-fr
    memory: 4GiB
    cpus: 2
    firmware: uefi
    credentials: {winrm: {user: Administrator, password: admin}}
    ready: {winrm: true, timeout: 15m}
    nics: [{network: lan, address: 10.20.0.21}]
`

func testSession(t testing.TB, name string, n int) *provision.Session {
	t.Helper()
	lab, err := labs.Load("tf-lab.yaml", []byte(testLab))
	if err != nil {
		t.Fatalf("load lab: %v", err)
	}
	return &provision.Session{Name: name, Lab: lab.Name, LabSource: "tf-lab.yaml", LabYAML: testLab, Provider: Name,
		MgmtCIDR: "10.250.0.0/16", Candidates: provision.NumberedCandidates(n)}
}

func instances(t testing.TB, s *provision.Session) []*labs.Instance {
	t.Helper()
	ins, err := s.Instances()
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

// testSecrets gives every candidate the same fixed secrets, so tests can look for them.
func testSecrets(t testing.TB) (func(string) (map[string]secret.Value, error), string) {
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := labs.Load("tf-lab.yaml", []byte(testLab))
	sec, err := st.Secrets("s", lab, "c01")
	if err != nil {
		t.Fatal(err)
	}
	return func(string) (map[string]secret.Value, error) { return sec, nil }, sec["admin"].Reveal()
}

// terraformBinary finds Terraform 1.5.7: $TAILAB_TOOLS or ~/go/bin, as
// scripts/install-terraform.sh installs it (the one on PATH may be another version).
func terraformBinary(t testing.TB) string {
	t.Helper()
	var paths []string
	if d := os.Getenv("TAILAB_TOOLS"); d != "" {
		paths = append(paths, filepath.Join(d, "terraform-1.5.7", "terraform"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(h, "go", "bin", "terraform-1.5.7", "terraform"))
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		paths = append(paths, p)
	}
	for _, p := range paths {
		// No update check: it would ask HashiCorp's server from a test.
		cmd := exec.Command(p, "version")
		cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null")
		if out, err := cmd.Output(); err == nil && strings.HasPrefix(string(out), "Terraform v1.5.7\n") {
			return p
		}
	}
	testenv.Unavailable(t, "Terraform 1.5.7 (bash scripts/install-terraform.sh)")
	return ""
}
