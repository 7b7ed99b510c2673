package libvirt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
)

// TestPrivateDirLinksAreNotFollowed plants, in a container's /srv as its root
// could, links to a host file at the paths tailab writes and reads there: the
// temporary file of a replaced lab file (marker.tmp, which writeFile wrote and
// chmodded through) and the SSH host key (which reset read through and copied
// into /srv). Neither a prepare nor a reset reads or writes the host file.
func TestPrivateDirLinksAreNotFollowed(t *testing.T) {
	base := t.TempDir()
	host := filepath.Join(base, "host-secret")
	if err := os.WriteFile(host, []byte("HOST SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	sp := &machineSpec{Dir: filepath.Join(base, "machines/s/c01/srv"), SharedDir: filepath.Join(base, "machines/s/.lib"),
		Machine: labs.Machine{Name: "srv", Files: labs.Files{"/srv/marker": "original"}}}
	if err := prepareContainer(sp, nil); err != nil {
		t.Fatal(err)
	}
	srv := filepath.Join(sp.Dir, "srv")
	for _, link := range []string{"marker.tmp", hostKeyFile} {
		os.Remove(filepath.Join(srv, link))
		if err := os.Symlink(host, filepath.Join(srv, link)); err != nil {
			t.Fatal(err)
		}
	}
	hostUntouched := func(when string) {
		t.Helper()
		st, err := os.Lstat(host)
		if b, _ := os.ReadFile(host); err != nil || string(b) != "HOST SECRET" || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: the host file was written or chmodded: %q %v", when, b, st.Mode())
		}
	}

	// up again (a replaced machine): the lab's file is rewritten beside the link.
	sp.Machine.Files["/srv/marker"] = "changed"
	if err := prepareContainer(sp, nil); err != nil {
		t.Fatal(err)
	}
	hostUntouched("prepare")
	if b, _ := os.ReadFile(filepath.Join(srv, "marker")); string(b) != "changed" {
		t.Fatalf("marker = %q, want changed", b)
	}

	// reset: /srv's host key comes back from the machine dir.
	pinned := sp.HostKeySHA256
	if err := removePrivate(sp); err != nil {
		t.Fatal(err)
	}
	if err := prepareContainer(sp, nil); err != nil {
		t.Fatal(err)
	}
	hostUntouched("reset")
	key := filepath.Join(srv, hostKeyFile)
	st, err := os.Lstat(key)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("host key after reset: %v %v, want a regular file", st, err)
	}
	if b, _ := os.ReadFile(key); string(b) == "HOST SECRET" {
		t.Fatal("reset copied the host file into the candidate's /srv")
	}
	if kept, _ := os.ReadFile(filepath.Join(sp.Dir, hostKeyFile)); string(kept) != string(must(os.ReadFile(key))) {
		t.Fatal("/srv's host key is not the one kept in the machine dir")
	}
	if !strings.HasPrefix(pinned, "SHA256:") || sp.HostKeySHA256 != pinned {
		t.Fatalf("host key fingerprint %q, then %q after reset: want one, unchanged", pinned, sp.HostKeySHA256)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
