package libvirt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/templates"
)

func machineDir(dataDir, session, candidate, machine string) string {
	return filepath.Join(dataDir, "machines", session, candidate, machine)
}

// prepareContainer writes a container's private dir: the writable /srv with
// sshd's host key and the machine's files, kept to a few inodes (creating
// files is most of what a container costs tailab). What else is the machine's
// own (host name, NICs, services, the grader's public keys) goes in the
// domain's <initenv> for the session's shared init (templates/lxc/init.sh):
// prepareContainer sets sp.AuthorizedKeys for it. It runs again on replace,
// keeping the host key.
func prepareContainer(sp *machineSpec, secrets map[string]secret.Value) error {
	srv := filepath.Join(sp.Dir, "srv")
	if err := os.MkdirAll(srv, 0o755); err != nil {
		return err
	}
	if err := ensureShared(sp.SharedDir); err != nil {
		return err
	}
	if err := ensureHostKey(filepath.Join(srv, hostKeyFile)); err != nil {
		return err
	}
	var keys []string
	for _, transport := range slices.Sorted(maps.Keys(sp.Machine.Credentials)) {
		c := sp.Machine.Credentials[transport]
		if transport != "ssh" || c.Key == "" {
			continue
		}
		k, ok := secrets[c.Key]
		if !ok {
			return fmt.Errorf("secret %q of the ssh credentials is not available", c.Key)
		}
		pub, err := provision.PublicKey(k)
		if err != nil {
			return fmt.Errorf("secret %q: %w", c.Key, err)
		}
		keys = append(keys, strings.TrimSpace(pub))
	}
	sp.AuthorizedKeys = keys
	for path, content := range sp.Machine.Files {
		dst := filepath.Join(sp.Dir, "files", path)
		if strings.HasPrefix(path, "/srv/") {
			dst = filepath.Join(srv, strings.TrimPrefix(path, "/srv/"))
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := writeFile(dst, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostKeyFile is sshd's host key in a container's private /srv.
const hostKeyFile = "ssh_host_ed25519_key"

// sharedFiles are the same for every container of a session: written once in the
// session's lib dir and mounted read-only at /srv/lib, rather than once per machine.
var sharedFiles = []struct {
	tmpl, name string
	mode       os.FileMode
}{
	{"lxc/init.sh", "init.sh", 0o755},
	{"lxc/udhcpc.sh", "udhcpc.sh", 0o755},
	{"lxc/sshd_config", "sshd_config", 0o644},
}

var (
	sharedMu   sync.Mutex
	sharedDone = map[string]bool{} // dirs checked by this process
)

// ensureShared writes the session's shared container files unless they are
// there with the right content; once per dir and process.
func ensureShared(dir string) error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedDone[dir] && fileExists(filepath.Join(dir, sharedFiles[0].name)) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range sharedFiles {
		b, err := templates.Render(f.tmpl, nil)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := writeFile(path, b, f.mode); err != nil {
			return err
		}
	}
	sharedDone[dir] = true
	return nil
}

// ensureHostKey creates an ed25519 host key unless one exists.
func ensureHostKey(path string) error {
	if fileExists(path) {
		return nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "tailab host key")
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(blk), 0o600)
}

// writeFile writes a new file directly, and replaces an existing one through a
// temp file and a rename, so a crash leaves either the old file or the new one.
// (A new file cut short by a crash belongs to a machine that was never defined:
// the next `up` prepares it again.)
func writeFile(path string, data []byte, mode os.FileMode) error {
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode); err == nil {
		_, werr := f.Write(data)
		cerr := f.Close()
		if werr != nil {
			return werr
		}
		return cerr // (a stricter umask may narrow mode: root in the container still reads it)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
