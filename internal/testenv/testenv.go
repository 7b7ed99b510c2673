// Package testenv gives integration tests the real daemons they need, under the
// project's rules: traffic stays on loopback or inside network namespaces the test
// creates itself, and a test that cannot find its daemon fails in CI (CI=true) and
// skips with a message elsewhere.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where every dependency must be present.
func InCI() bool { return os.Getenv("CI") != "" && os.Getenv("CI") != "false" }

// Unavailable fails the test in CI and skips it elsewhere, with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("integration dependency missing in CI: %s", msg)
	}
	t.Skipf("skipping: %s (install it with scripts/install-deps.sh)", msg)
}

// RequireBinary returns the path of an executable, or fails/skips the test.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/sbin/", "/usr/bin/"} {
		if p, err := exec.LookPath(dir + name); err == nil {
			return p
		}
	}
	Unavailable(t, "%s not found", name)
	return ""
}

// RequireRoot fails/skips a test that needs root (network namespaces, daemons).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root")
	}
}

// inNetnsEnv marks a test process already re-executed in its own network namespace.
const inNetnsEnv = "TAILAB_TEST_IN_NETNS"

// IsolatedNetwork reports whether this test process runs in a private network
// namespace created by RunInNetns.
func IsolatedNetwork() bool { return os.Getenv(inNetnsEnv) == "1" }

// RunInNetns is called from TestMain: it re-executes the test binary inside a new,
// private network namespace (unshare -n) with loopback up, so the package's tests
// can start daemons on any port of 127.0.0.0/8 and create veth pairs and bridges
// without touching the host's network. When that is impossible (not root, no
// unshare), the tests run in place and integration tests that need isolation call
// RequireIsolatedNetwork, which fails in CI and skips elsewhere.
//
//	func TestMain(m *testing.M) { testenv.RunInNetns(m) }
func RunInNetns(m *testing.M) {
	if IsolatedNetwork() {
		if err := exec.Command("ip", "link", "set", "lo", "up").Run(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: ip link set lo up:", err)
			os.Exit(1)
		}
		os.Exit(m.Run())
	}
	unshare, err := exec.LookPath("unshare")
	if os.Geteuid() != 0 || err != nil {
		os.Exit(m.Run())
	}
	cmd := exec.Command(unshare, append([]string{"--net", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "testenv: re-exec in a network namespace:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// RequireIsolatedNetwork fails/skips a test that must run in its own network namespace.
func RequireIsolatedNetwork(t testing.TB) {
	t.Helper()
	if !IsolatedNetwork() {
		Unavailable(t, "needs a private network namespace (run as root with unshare available; TestMain must call testenv.RunInNetns)")
	}
}

// FreePort returns a TCP port free on the given loopback address.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("free port on %s: %v", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitTCP waits until addr accepts TCP connections or the timeout passes.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections within %s: %v", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartDaemon starts a long-running process, stops it (by its PID, and only it)
// when the test ends, and returns the command. Its output goes to a file in the
// test's temp dir, shown when the test fails.
func StartDaemon(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "daemon-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("%s output:\n%s", name, strings.TrimSpace(string(out)))
		}
		logf.Close()
	})
	return cmd
}
