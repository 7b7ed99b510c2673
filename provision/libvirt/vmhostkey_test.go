package libvirt

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/beneath"
)

const linuxSeedLab = `name: linux-seed
networks: [{name: lan, cidr: 10.20.0.0/24}]
machines:
  - {name: srv, role: server, kind: vm, os: linux, image: deb-test, memory: 512MiB, nics: [{network: lan, address: 10.20.0.5}]}
`

// TestLinuxVMSeedHostKey: a Linux VM's cloud-init seed installs the host key
// tailab generated (kept in the machine's dir, the same at every prepare) and
// whose fingerprint the machine's state pins.
func TestLinuxVMSeedHostKey(t *testing.T) {
	specs, err := labSpecs(t, linuxSeedLab, "deb-test")
	if err != nil || len(specs) != 1 || specs[0].Image.Seed == "" {
		t.Fatalf("specs: %+v %v", specs, err)
	}
	sp := specs[0]
	if err := os.MkdirAll(sp.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	seed := func() (userData map[string]any) {
		t.Helper()
		if err := withDir(sp.Dir, func(d *beneath.Dir) error { return vmHostKey(sp, d) }); err != nil {
			t.Fatal(err)
		}
		_, files, err := renderSeed(sp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(files[0].Data, &userData); err != nil {
			t.Fatalf("user-data is not YAML: %v\n%s", err, files[0].Data)
		}
		return userData
	}
	ud := seed()
	first := sp.HostKeySHA256
	keys, _ := ud["ssh_keys"].(map[string]any)
	priv, _ := keys["ed25519_private"].(string)
	signer, err := ssh.ParsePrivateKey([]byte(priv))
	if err != nil {
		t.Fatalf("ssh_keys.ed25519_private: %v\n%v", err, ud)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(keys["ed25519_public"].(string)))
	if err != nil || ssh.FingerprintSHA256(pub) != first || ssh.FingerprintSHA256(signer.PublicKey()) != first || !strings.HasPrefix(first, "SHA256:") {
		t.Fatalf("seed keys %v / %v, pinned %q", pub, err, first)
	}
	if ud["ssh_deletekeys"] != true {
		t.Errorf("ssh_deletekeys = %v: the image's own keys would stay", ud["ssh_deletekeys"])
	}
	if seed(); sp.HostKeySHA256 != first {
		t.Errorf("a second prepare (reset) changed the key: %s, then %s", first, sp.HostKeySHA256)
	}
	if got := (&Provider{}).state(sp, "ready", nil).SSHHostKey; got != first {
		t.Errorf("machine state pins %q, want %q", got, first)
	}
}
