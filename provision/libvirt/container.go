package libvirt

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tailab/tailab/internal/beneath"
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
// keeping the host key (installHostKey).
//
// The candidate is root in the machine and writes its /srv: every file of the
// private dir is opened beneath it without following links (internal/beneath),
// so a link planted in /srv is replaced, never written through.
func prepareContainer(sp *machineSpec, secrets map[string]secret.Value) error {
	if err := os.MkdirAll(sp.Dir, 0o755); err != nil {
		return err
	}
	dir, err := beneath.Open(sp.Dir)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := dir.MkdirAll("srv", 0o755); err != nil {
		return err
	}
	if err := ensureShared(sp.SharedDir); err != nil {
		return err
	}
	if err := installHostKey(sp, dir); err != nil {
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
	if err := sambaDCTLS(sp, dir); err != nil {
		return err
	}
	for path, content := range sp.Machine.Files {
		rel := "files" + path // a clean absolute path in the machine (labs.MachinePath)
		if strings.HasPrefix(path, "/srv/") {
			rel = "srv/" + strings.TrimPrefix(path, "/srv/")
		}
		if err := dir.WriteFile(rel, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sambaDCTLSDir is where a samba-dc machine finds the TLS key and certificate
// of its own in /srv (init.sh puts them in place of its template's).
const sambaDCTLSDir = "samba-dc-tls"

// sambaDCTLS writes a samba-dc machine's own TLS key and certificate into its
// /srv, once: a DC copied from the host's template would otherwise share the
// template's key with every DC of that domain, of every candidate.
func sambaDCTLS(sp *machineSpec, dir *beneath.Dir) error {
	spec, ok := provision.SambaDCSpecOf(sp.Machine)
	if !ok || !slices.Contains(sp.Machine.Services, "samba-dc") || dir.IsRegular("srv/"+sambaDCTLSDir+"/key.pem") {
		return nil
	}
	key, cert, err := provision.SambaDCTLS(strings.ToLower(spec.Host + "." + spec.Realm))
	if err != nil {
		return fmt.Errorf("samba-dc TLS key: %w", err)
	}
	if err := dir.MkdirAll("srv/"+sambaDCTLSDir, 0o700); err != nil {
		return err
	}
	if err := dir.WriteFile("srv/"+sambaDCTLSDir+"/cert.pem", cert, 0o644); err != nil {
		return err
	}
	return dir.WriteFile("srv/"+sambaDCTLSDir+"/key.pem", key, 0o600)
}

// sharedFiles are the same for every container of a session: written once in the
// session's lib dir and mounted read-only at /srv/lib, rather than once per machine.
var sharedFiles = []struct {
	tmpl, name string
	mode       os.FileMode
}{
	{"lxc/init.sh", "init.sh", 0o755},
	{"lxc/udhcpc.sh", "udhcpc.sh", 0o755},
	{"lxc/sshd_config", "sshd_config", 0o644},
	{"lxc/samba-dc-secrets.py", "samba-dc-secrets.py", 0o644},
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

// writeFile writes a file of tailab's own (the session's shared files, a
// snapshot's metadata) with beneath.Dir.WriteFile in its directory: a new file
// in place, an existing one through a temporary file beside it and a rename.
func writeFile(path string, data []byte, mode os.FileMode) error {
	dir, err := beneath.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.WriteFile(filepath.Base(path), data, mode)
}
