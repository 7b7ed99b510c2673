package exam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/static"
)

// TestExistingRoomDocs loads docs/existing-room.md's example (lab, suite,
// roster, inventory) as up --provider static does, so the documentation
// cannot drift from the formats.
func TestExistingRoomDocs(t *testing.T) {
	data, err := os.ReadFile("../docs/existing-room.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(marker string) string {
		_, rest, ok := strings.Cut(string(data), "<!-- example-"+marker)
		if !ok {
			t.Fatalf("no example-%s marker", marker)
		}
		_, rest, _ = strings.Cut(rest, "```")
		_, rest, _ = strings.Cut(rest, "\n")
		text, _, _ := strings.Cut(rest, "```")
		return text
	}
	dir := t.TempDir()
	for name, marker := range map[string]string{"salle.yaml": "lab", "suite.yaml": "suite", "roster.csv": "roster", "inventory.yaml": "inventory"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(block(marker)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lab, err := labs.LoadFile(filepath.Join(dir, "salle.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	suites, err := LoadSuites(lab, Probes())
	if err != nil || len(suites) != 1 || len(suites[0].Checks) != 4 {
		t.Fatalf("suites: %v", err)
	}
	roster, err := ReadRosterFile(filepath.Join(dir, "roster.csv"))
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := static.LoadInventoryFile(filepath.Join(dir, "inventory.yaml"))
	if err == nil {
		err = inv.Check(lab, roster.Candidates)
	}
	if err == nil {
		err = static.CheckSecrets(lab)
	}
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := inv.Entry("c01", "srv"); e.Ports["ssh"] != 2222 || e.Address != "192.168.12.101" {
		t.Errorf("c01/srv = %+v", e)
	}
}
