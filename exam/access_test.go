package exam

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

func accessFixture() []provision.MachineAccess {
	return []provision.MachineAccess{
		{Session: "s1", Candidate: "c01", Machine: "srv", Kind: "container", State: "running",
			Addresses: map[string]string{"lan": "10.20.0.10"},
			Endpoints: []provision.Endpoint{{Proto: "ssh", Address: "10.20.0.10", Port: 22, User: "root", Network: "lan"},
				{Proto: "ssh", Address: "10.250.1.10", Port: 22, User: "root", Network: "mgmt"}}},
		{Session: "s1", Candidate: "c01", Machine: "ws", Kind: "vm", State: "running",
			Addresses: map[string]string{"lan": "10.20.0.30"},
			Console:   &provision.Console{Type: "vnc", Host: "127.0.0.1", Port: 5900, Password: secret.New("Pw3xYz9a")}},
		{Session: "s1", Candidate: "c02", Machine: "ws", Kind: "vm", State: "stopped",
			Console: &provision.Console{Type: "vnc", Host: "127.0.0.1", Password: secret.New("Qq7hJk2m")}},
	}
}

// TestVirtViewerFiles: one 0600 file per running console, none for a stopped VM.
func TestVirtViewerFiles(t *testing.T) {
	dir := t.TempDir()
	n, err := WriteVirtViewerFiles(dir, accessFixture())
	if err != nil || n != 1 {
		t.Fatalf("wrote %d files (%v), want 1", n, err)
	}
	path := filepath.Join(dir, "c01", "ws.vv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "[virt-viewer]\ntype=vnc\nhost=127.0.0.1\nport=5900\npassword=Pw3xYz9a\ntitle=s1 — c01 — ws\ndelete-this-file=0\nfullscreen=0\n"
	if string(b) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", path, b, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "c02")); !os.IsNotExist(err) {
		t.Errorf("a .vv file was written for a stopped VM")
	}
}

// TestAccessSheets: one sheet per candidate, candidate-facing logins only.
func TestAccessSheets(t *testing.T) {
	sess := &provision.Session{Name: "s1", Lab: "tpe", Candidates: []labs.Candidate{{ID: "c01", FirstName: "Élodie", LastName: "Martin", Index: 1}, {ID: "c02", Index: 2}}}
	sh := AccessSheets(sess, accessFixture(), time.Unix(0, 0))
	if len(sh) != 2 || sh[0].Name != "MARTIN Élodie" || len(sh[0].Machines) != 2 {
		t.Fatalf("sheets: %+v", sh)
	}
	if l := sh[0].Machines[0].Logins; len(l) != 1 || l[0].Address != "10.20.0.10" {
		t.Errorf("c01/srv logins %+v: want only the lab address (not the management one)", l)
	}
	if c := sh[0].Machines[1].Console; c == nil || c.Password != "Pw3xYz9a" || c.Port != 5900 {
		t.Errorf("c01/ws console on the sheet: %+v", c)
	}
}

// TestRenderAccessMasksPasswords: the table shows passwords only when asked.
func TestRenderAccessMasksPasswords(t *testing.T) {
	for _, show := range []bool{false, true} {
		var b bytes.Buffer
		if err := AccessTable(&b, accessFixture(), show); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "Pw3xYz9a"); got != show {
			t.Errorf("show=%v: password in the table: %v\n%s", show, got, b.String())
		}
		for _, s := range []string{"vnc://127.0.0.1:5900", "vnc (not running)", "ssh root@10.20.0.10", "ssh root@10.250.1.10"} {
			if !strings.Contains(b.String(), s) {
				t.Errorf("table lacks %q:\n%s", s, b.String())
			}
		}
	}
}
