package libvirt_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const lockLab = `name: lock-lab
networks:
  - {name: lan, cidr: 10.33.0.0/24}
  - {name: dmz, cidr: 10.34.0.0/24}
defaults: {kind: container, os: linux, memory: 32MiB, ready: {timeout: 30s}}
machines:
  - {name: a, role: server, nics: [{network: lan, address: 10.33.0.10}, {network: dmz, address: 10.34.0.10}]}
  - {name: b, role: client, nics: [{network: lan, address: 10.33.0.20}]}
  - {name: c, role: client, nics: [{network: dmz, address: 10.34.0.30}]}
`

// TestUpDuringDown runs the real binary on the private libvirtd: an `up` of a
// session while its `down` runs, and a `down` and a `gc` while its `up` runs.
// Before, such an up left dozens of domains and networks of a session the
// store no longer knew, and bridges nothing could see. Now the second command
// is refused, naming the holder's verb and pid; the first ends as if alone;
// no domain, network or bridge is left that the store does not know, and a
// later down and gc leave nothing.
func TestUpDuringDown(t *testing.T) {
	needDaemon(t)
	dataDir := t.TempDir()
	labFile := writeLab(t, lockLab)
	tailab := newCLI(t, "TAILAB_DATA_DIR="+dataDir).command
	upArgs := []string{"up", labFile, "--session", "ud", "--count", "3"}
	// start runs a command and returns once it printed its first line (it
	// holds the session's lock by then); wait returns its output and error.
	start := func(args ...string) (pid int, wait func() (string, error)) {
		t.Helper()
		c := tailab(args...)
		stderr, err := c.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stderr)
		first, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%v printed nothing: %v", args, err)
		}
		rest := make(chan string, 1)
		go func() {
			b, _ := readAll(r)
			rest <- b
		}()
		return c.Process.Pid, func() (string, error) {
			out := first + <-rest
			return out, c.Wait()
		}
	}
	refused := func(holder string, pid int, args ...string) {
		t.Helper()
		out, err := tailab(args...).CombinedOutput()
		want := fmt.Sprintf("`%s` (pid %d, ", holder, pid)
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("%v while %s runs: %v\n%s\nwant a refusal naming %s", args, holder, err, out, want)
		}
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 3 {
			t.Errorf("%v refused with exit %d, want 3", args, ee.ExitCode())
		}
	}

	if out, err := tailab(upArgs...).CombinedOutput(); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	eng := newEngine(t, dataDir, "")

	// up while down runs. Should down end before up asks for the lock, up runs
	// after it (as alone, a consistent end too) and the race is run again.
	for attempt := 1; ; attempt++ {
		pid, wait := start("down", "--session", "ud")
		out, err := tailab(upArgs...).CombinedOutput()
		if dout, derr := wait(); derr != nil {
			t.Fatalf("down: %v\n%s", derr, dout)
		}
		if err == nil && attempt < 5 {
			t.Logf("attempt %d: down ended before up started; up ran after it", attempt)
			continue
		}
		want := fmt.Sprintf("`down` (pid %d, ", pid)
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("up while down runs: %v\n%s\nwant a refusal naming %s", err, out, want)
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Errorf("up refused with %v, want exit 3", err)
		}
		break
	}
	assertNothingLeft(t, eng, "ud", dataDir)
	assertBridgesKnown(t)

	// down and gc while up runs.
	pid, wait := start(upArgs...)
	refused("up", pid, "down", "--session", "ud")
	refused("up ud", pid, "gc", "--yes")
	if out, err := wait(); err != nil || strings.Count(out, " ready") != 9 {
		t.Fatalf("up: %v (want 9 machines ready)\n%s", err, out)
	}
	if out, err := tailab("down", "--session", "ud").CombinedOutput(); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	assertNothingLeft(t, eng, "ud", dataDir)
	assertBridgesKnown(t)
	if out, err := tailab("gc").CombinedOutput(); err != nil || !strings.Contains(string(out), "no orphan resource") {
		t.Errorf("gc after down: %v\n%s", err, out)
	}
}

func readAll(r *bufio.Reader) (string, error) {
	var b strings.Builder
	_, err := r.WriteTo(&b)
	return b.String(), err
}

// assertBridgesKnown: every tailab bridge (tlb...) of the daemon's network
// namespace belongs to a network libvirt knows.
func assertBridgesKnown(t *testing.T) {
	t.Helper()
	uri := daemonEnv["TAILAB_QEMU_URI"]
	nets, err := exec.Command("virsh", "-c", uri, "net-list", "--all", "--name").Output()
	if err != nil {
		t.Fatalf("virsh net-list: %v", err)
	}
	known := map[string]bool{}
	for _, n := range strings.Fields(string(nets)) {
		br, err := exec.Command("virsh", "-c", uri, "net-info", n).Output()
		if err != nil {
			continue // removed meanwhile
		}
		for _, line := range strings.Split(string(br), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Bridge" {
				known[strings.TrimSpace(v)] = true
			}
		}
	}
	links, err := filepath.Glob("/sys/class/net/tlb*")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if name := filepath.Base(l); !known[name] {
			t.Errorf("bridge %s is attached to no network libvirt knows", name)
		}
	}
}
