package libvirt

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/beneath"
)

// SSH host keys of containers (and of Linux VMs with a cloud-init seed).
//
// tailab generates each container's host key once, keeps it in the machine's
// dir (DIR/ssh_host_ed25519_key, which no machine sees) and copies it into the
// machine's /srv for sshd whenever it prepares the machine (up, replace,
// reset, revert). Its fingerprint is pinned in the machine's state
// (MachineState.SSHHostKey) and the grader, the steps and the gateway accept
// that key only: a candidate who replaces /srv's copy, or a machine answering
// at another's address, is an `error` naming both fingerprints, and a reset
// brings the genuine key back.

// hostKeyFile is sshd's host key: the kept copy in the machine's dir and
// sshd's in its /srv.
const hostKeyFile = "ssh_host_ed25519_key"

// maxHostKey bounds a host key read back.
const maxHostKey = 64 << 10

// installHostKey writes the machine's kept host key (keptHostKey) into its
// /srv for sshd.
func installHostKey(sp *machineSpec, dir *beneath.Dir) error {
	b, err := keptHostKey(sp, dir)
	if err != nil {
		return err
	}
	return dir.WriteFile("srv/"+hostKeyFile, b, 0o600)
}

// keptHostKey returns the machine's host key kept in its dir, made on first
// use, and sets sp.HostKeySHA256 to its fingerprint.
func keptHostKey(sp *machineSpec, dir *beneath.Dir) ([]byte, error) {
	b, err := dir.ReadFile(hostKeyFile, maxHostKey)
	if err != nil {
		if b, err = newHostKey(); err != nil {
			return nil, err
		}
		if err := dir.WriteFile(hostKeyFile, b, 0o600); err != nil {
			return nil, err
		}
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("host key %s/%s: %w", dir.Name(), hostKeyFile, err)
	}
	sp.HostKeySHA256 = ssh.FingerprintSHA256(signer.PublicKey())
	return b, nil
}

// vmHostKey gives a Linux VM with a cloud-init seed its kept host key: the
// seed installs it (ssh_keys), so the grader can verify the VM as it does a
// container.
func vmHostKey(sp *machineSpec, dir *beneath.Dir) error {
	b, err := keptHostKey(sp, dir)
	sp.HostKeyPEM = b
	return err
}

// newHostKey is a new ed25519 private key in OpenSSH's PEM form.
func newHostKey() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "tailab host key")
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(blk), nil
}

// withDir runs fn on the machine dir opened with beneath.
func withDir(path string, fn func(*beneath.Dir) error) error {
	d, err := beneath.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}
