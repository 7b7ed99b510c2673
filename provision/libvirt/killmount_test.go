package libvirt_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/provision/libvirt"
)

// TestKillDuringContainedUp kills `tailab up` of contained containers with
// SIGKILL half-way (after two machines started: the others have their mounts
// made in libvirtd's mount namespace, or are defined, or neither), twice:
// once a second `up` reconciles and `down` removes everything; once `down`
// and `gc` follow straight away. Then it kills `down` half-way (once the
// first thing is destroyed: domains stopped, their mounts, dirs and ranges
// still there) and runs it again. Each time no domain, mount, mount dir,
// machine dir or uid range of the session is left.
func TestKillDuringContainedUp(t *testing.T) {
	needDaemon(t)
	containedRootFS(t)
	dataDir := t.TempDir()
	labFile := writeLab(t, lockLab)
	tailab := newCLI(t, "TAILAB_DATA_DIR="+dataDir)
	const session = "kc"
	upArgs := []string{"up", labFile, "--session", session, "--count", "3", "--parallel", "1"}
	killUp := func() {
		t.Helper()
		tailab.killAfter(t, 2, machineCreated, upArgs...)
		if n := len(sessionMounts(t, session)); n == 0 {
			t.Fatalf("no mount of session %s after the kill: the machines are not contained", session)
		}
	}
	eng := newEngine(t, dataDir, "")
	nothingLeft := func() {
		t.Helper()
		assertNothingLeft(t, eng, session, dataDir)
		if m := sessionMounts(t, session); len(m) > 0 {
			t.Errorf("mounts of session %s left in libvirtd's namespace: %v", session, m)
		}
		if dirs, _ := filepath.Glob(filepath.Join(libvirt.DefaultMountRoot, "tl-"+session+".*")); len(dirs) > 0 {
			t.Errorf("mount dirs left: %v", dirs)
		}
		if b, _ := os.ReadFile(libvirt.DefaultUIDTable); strings.Contains(string(b), dataDir) {
			t.Errorf("uid ranges of session %s left in %s:\n%s", session, libvirt.DefaultUIDTable, b)
		}
	}

	// Killed, then reconciled by a second up, then down.
	killUp()
	if out, err := tailab.run(upArgs...); err != nil || strings.Count(out, " ready") < 9 {
		t.Fatalf("second up: %v (want 9 machines ready)\n%s", err, out)
	}
	if out, err := tailab.run("down", "--session", session); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	nothingLeft()

	// Killed, then down and gc straight away.
	killUp()
	if out, err := tailab.run("down", "--session", session); err != nil {
		t.Fatalf("down after the kill: %v\n%s", err, out)
	}
	if out, err := tailab.run("gc", "--yes"); err != nil {
		t.Fatalf("gc: %v\n%s", err, out)
	}
	nothingLeft()

	// Up, then down killed once something is destroyed, then down again.
	if out, err := tailab.run(upArgs...); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	destroyed := func(line string) bool { return strings.Contains(line, " destroyed") }
	tailab.killAfter(t, 1, destroyed, "down", "--session", session)
	if out, err := tailab.run("down", "--session", session); err != nil {
		t.Fatalf("down after the killed down: %v\n%s", err, out)
	}
	nothingLeft()
}

// sessionMounts lists the mount points of a session's machines in libvirtd's
// mount namespace.
func sessionMounts(t *testing.T, session string) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/mountinfo", daemonEnv["TAILAB_LIBVIRTD_PID"]))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.Contains(f[4], "/tl-"+session+".") {
			out = append(out, f[4])
		}
	}
	return out
}
