// Package libvirtd gives tests a private libvirtd (QEMU/TCG and LXC drivers)
// running in its own network namespace, started with scripts/libvirtd-netns.sh.
//
// One daemon serves the whole test binary: the first Start starts it in a
// temporary directory, later calls return the same one. Stop (or Main, from
// TestMain) stops it by its PID; if the test binary dies first (panic, timeout),
// a watchdog process started with the daemon stops it and removes its directory.
// With TAILAB_LIBVIRTD_DIR set, Start uses (and starts if needed) the daemon of
// that directory and never stops it: handy to inspect a run with virsh.
//
//	func TestMain(m *testing.M) { libvirtd.Main(m) }
//
//	func TestX(t *testing.T) {
//		d := libvirtd.Start(t)
//		out, err := d.Virsh(ctx, d.LXCURI, "list", "--all")
//		conn, err := d.DialContext(ctx, "tcp", "10.77.0.11:22") // from the daemon's netns
//	}
package libvirtd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
)

// DirEnv names a daemon directory to use (and leave running) instead of a
// temporary one.
const DirEnv = "TAILAB_LIBVIRTD_DIR"

// Daemon is a running private libvirtd.
type Daemon struct {
	Dir     string // the daemon's private root (configuration, state, logs, socket)
	PID     int    // libvirtd's PID
	Netns   string // network namespace name (ip netns exec NETNS ...)
	Socket  string // unix socket path
	QEMUURI string // qemu:///system?socket=...
	LXCURI  string // lxc:///system?socket=...
	HostVar string // the host's real /var, as the daemon (and its containers) see it
	Log     string // libvirtd's log file

	owned    bool      // started by this process: Stop stops it
	watchdog *exec.Cmd // stops the daemon when this process exits
	lifeline *os.File  // write end of the watchdog's stdin: EOF when we exit
	wdLog    string    // watchdog output file
}

var (
	mu      sync.Mutex
	current *Daemon
	lastErr error
)

// RequireTools fails (CI) or skips the test when what a private libvirtd needs
// is missing: root, libvirtd, virsh, ip, QEMU, dnsmasq, iptables.
func RequireTools(t testing.TB) {
	t.Helper()
	testenv.RequireRoot(t)
	for _, b := range []string{"libvirtd", "virsh", "ip", "qemu-system-x86_64", "dnsmasq", "iptables", "flock"} {
		testenv.RequireBinary(t, b)
	}
	for _, drv := range []string{"qemu", "lxc"} {
		if m, _ := filepath.Glob("/usr/lib/*/libvirt/connection-driver/libvirt_driver_" + drv + ".so"); len(m) == 0 {
			testenv.Unavailable(t, "libvirt %s driver missing (libvirt-daemon-driver-%s)", drv, drv)
		}
	}
}

// Start returns the test binary's private libvirtd, starting it the first time.
func Start(t testing.TB) *Daemon {
	t.Helper()
	RequireTools(t)
	mu.Lock()
	defer mu.Unlock()
	if current == nil && InDaemonNetns() {
		current, lastErr = fromEnv()
	}
	if current == nil {
		t0 := time.Now()
		current, lastErr = start()
		if lastErr == nil {
			t.Logf("private libvirtd pid %d in netns %s started in %s (dir %s)",
				current.PID, current.Netns, time.Since(t0).Round(time.Millisecond), current.Dir)
		}
	}
	if current == nil {
		t.Fatalf("private libvirtd: %v", lastErr)
	}
	return current
}

// Current returns the daemon Start started, or nil.
func Current() *Daemon {
	mu.Lock()
	defer mu.Unlock()
	return current
}

func start() (*Daemon, error) {
	script, err := Script()
	if err != nil {
		return nil, err
	}
	if dir := os.Getenv(DirEnv); dir != "" {
		return startIn(script, dir, false)
	}
	dir, err := os.MkdirTemp("/tmp", "tailab-libvirtd-")
	if err != nil {
		return nil, fmt.Errorf("daemon dir: %w", err)
	}
	d, err := startIn(script, dir, true)
	if err != nil {
		_ = exec.Command("bash", script, "stop", dir).Run()
		removeDir(dir)
		return nil, err
	}
	return d, nil
}

func startIn(script, dir string, owned bool) (*Daemon, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script, "start", dir)
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		return nil, fmt.Errorf("%s start %s: %w\n%s", script, dir, err, stderr.String())
	}
	d, err := LoadEnv(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	d.owned = owned
	if owned {
		if err := d.startWatchdog(script); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// startWatchdog starts `sh` reading a pipe only this process holds: when the
// process exits, however it exits, the read returns and the daemon is stopped
// and its directory removed.
func (d *Daemon) startWatchdog(script string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("watchdog pipe: %w", err)
	}
	defer r.Close()
	// Output to a file, not a pipe: the watchdog outlives this process. Stop
	// writes "keep" before closing the pipe to read the log; an orphaned
	// watchdog removes it.
	d.wdLog = d.Dir + ".watchdog.log"
	logf, err := os.Create(d.wdLog)
	if err != nil {
		w.Close()
		return fmt.Errorf("watchdog log: %w", err)
	}
	defer logf.Close()
	wd := exec.Command("sh", "-c", `read -r keep || true; bash "$1" stop "$2"; rc=$?; `+
		`grep -qF " $2/" /proc/self/mountinfo || rm -rf "$2"; `+
		`[ "$keep" = keep ] || rm -f "$3"; exit $rc`, "watchdog", script, d.Dir, d.wdLog)
	wd.Stdin, wd.Stdout, wd.Stderr = r, logf, logf
	// Its own process group: a ^C to the test does not kill it before it cleans.
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("watchdog: %w", err)
	}
	d.watchdog, d.lifeline = wd, w
	return nil
}

// watchdogOutput returns (and removes) the watchdog's log.
func (d *Daemon) watchdogOutput() string {
	b, _ := os.ReadFile(d.wdLog)
	_ = os.Remove(d.wdLog)
	return strings.TrimSpace(string(b))
}

// Stop stops the daemon Start started (by its PID, through the script, which
// first destroys running guests and networks), removes its directory and checks
// nothing of it is left. A daemon named by TAILAB_LIBVIRTD_DIR is left running.
// Call it from TestMain after m.Run (Main does); a later Start starts a new one.
func Stop() error {
	mu.Lock()
	defer mu.Unlock()
	d := current
	current, lastErr = nil, nil
	if d == nil || !d.owned {
		return nil
	}
	_, _ = d.lifeline.WriteString("keep\n")
	d.lifeline.Close()
	done := make(chan error, 1)
	go func() { done <- d.watchdog.Wait() }()
	select {
	case err := <-done:
		out := d.watchdogOutput()
		if err != nil {
			return fmt.Errorf("stop libvirtd %s: %w\n%s", d.Dir, err, out)
		}
		return d.leftovers(out)
	case <-time.After(3 * time.Minute):
		return fmt.Errorf("stop libvirtd %s: still stopping after 3 min (log %s)", d.Dir, d.wdLog)
	}
}

// leftovers reports what of a stopped daemon still exists.
func (d *Daemon) leftovers(log string) error {
	var left []string
	if _, err := os.Stat("/run/netns/" + d.Netns); err == nil {
		left = append(left, "netns "+d.Netns)
	}
	if alive(d.PID) {
		left = append(left, "libvirtd pid "+strconv.Itoa(d.PID))
	}
	if _, err := os.Stat(d.Dir); err == nil {
		left = append(left, "dir "+d.Dir)
	}
	if len(left) > 0 {
		return fmt.Errorf("stop libvirtd: left behind: %s\n%s", strings.Join(left, ", "), log)
	}
	return nil
}

func alive(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.HasSuffix(exe, "/libvirtd")
}

// Main runs the tests, then stops the daemon: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "libvirtd:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// LoadEnv reads the env file written by `libvirtd-netns.sh start` (KEY=value lines).
func LoadEnv(path string) (*Daemon, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("libvirtd env: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			vals[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("libvirtd env %s: %w", path, err)
	}
	d := &Daemon{
		Dir: vals["TAILAB_LIBVIRTD_DIR"], Netns: vals["TAILAB_NETNS"],
		Socket: vals["TAILAB_LIBVIRT_SOCKET"], QEMUURI: vals["TAILAB_QEMU_URI"],
		LXCURI: vals["TAILAB_LXC_URI"], HostVar: vals["TAILAB_HOSTVAR"], Log: vals["TAILAB_LIBVIRTD_LOG"],
	}
	d.PID, _ = strconv.Atoi(vals["TAILAB_LIBVIRTD_PID"])
	if d.Netns == "" || d.QEMUURI == "" || d.LXCURI == "" || d.PID == 0 {
		return nil, fmt.Errorf("libvirtd env %s: incomplete (%v)", path, vals)
	}
	return d, nil
}

// Env returns the daemon's settings as KEY=value, the variables the CLI and
// the provider read (TAILAB_QEMU_URI, TAILAB_LXC_URI, TAILAB_HOSTVAR, ...).
func (d *Daemon) Env() []string {
	return []string{
		"TAILAB_LIBVIRTD_DIR=" + d.Dir, "TAILAB_LIBVIRTD_PID=" + strconv.Itoa(d.PID),
		"TAILAB_NETNS=" + d.Netns, "TAILAB_LIBVIRT_SOCKET=" + d.Socket,
		"TAILAB_QEMU_URI=" + d.QEMUURI, "TAILAB_LXC_URI=" + d.LXCURI,
		"TAILAB_HOSTVAR=" + d.HostVar, "TAILAB_LIBVIRTD_LOG=" + d.Log,
	}
}

// Command returns a command that runs inside the daemon's network namespace
// (ip netns exec), where its bridges and guests are reachable.
func (d *Daemon) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", d.Netns, name}, args...)...)
}

// Exec runs a command inside the daemon's network namespace and returns its
// combined output; the error carries the output.
func (d *Daemon) Exec(ctx context.Context, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("libvirtd exec: no command")
	}
	out, err := d.Command(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ip netns exec %s %s: %w: %s", d.Netns, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Virsh runs virsh against the daemon (uri: d.QEMUURI or d.LXCURI) and returns
// its standard output; the error carries standard error.
func (d *Daemon) Virsh(ctx context.Context, uri string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "virsh", append([]string{"-q", "-c", uri}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("virsh %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Script returns the path of scripts/libvirtd-netns.sh in this module.
func Script() (string, error) { return findScript("libvirtd-netns.sh") }

// findScript finds scripts/NAME from the working directory up to the module
// root, then next to this source file.
func findScript(name string) (string, error) {
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, "scripts", name)
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", name)
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("scripts/%s not found from the working directory", name)
}

// removeDir removes a stopped daemon's directory unless something is still
// mounted under it (never recurse into a bind mount of /var).
func removeDir(dir string) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil || bytes.Contains(mi, []byte(" "+dir+"/")) {
		return
	}
	_ = os.RemoveAll(dir)
}

// innerEnv marks a test binary re-executed by MainInNetns inside the daemon's
// network namespace; the daemon's settings are in the environment.
const innerEnv = "TAILAB_LIBVIRTD_INNER"

// InDaemonNetns reports whether this process was re-executed by MainInNetns.
func InDaemonNetns() bool { return os.Getenv(innerEnv) == "1" }

// MainInNetns, called from TestMain, starts the daemon, re-executes the test
// binary inside its network namespace (ip netns exec) with the daemon's
// variables (Env) set, then stops the daemon. The tests then reach every lab
// address with the plain net package, and programs they run (the CLI, a
// grader) see the lab networks too. Start returns the daemon of the
// environment there. Without root or libvirtd the tests run in place (and
// Start fails in CI / skips).
func MainInNetns(m *testing.M) {
	if InDaemonNetns() {
		os.Exit(m.Run())
	}
	if os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	if _, err := exec.LookPath("/usr/sbin/libvirtd"); err != nil {
		os.Exit(m.Run())
	}
	mu.Lock()
	current, lastErr = start()
	d, err := current, lastErr
	mu.Unlock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "libvirtd:", err)
		os.Exit(1)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", d.Netns, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(append(os.Environ(), d.Env()...), innerEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code := 0
	if err := cmd.Run(); err != nil {
		code = 1
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		}
	}
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "libvirtd:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// fromEnv returns the daemon described by the environment (MainInNetns).
func fromEnv() (*Daemon, error) {
	d := &Daemon{
		Dir: os.Getenv("TAILAB_LIBVIRTD_DIR"), Netns: os.Getenv("TAILAB_NETNS"),
		Socket: os.Getenv("TAILAB_LIBVIRT_SOCKET"), QEMUURI: os.Getenv("TAILAB_QEMU_URI"),
		LXCURI: os.Getenv("TAILAB_LXC_URI"), HostVar: os.Getenv("TAILAB_HOSTVAR"), Log: os.Getenv("TAILAB_LIBVIRTD_LOG"),
	}
	d.PID, _ = strconv.Atoi(os.Getenv("TAILAB_LIBVIRTD_PID"))
	if d.Netns == "" || d.QEMUURI == "" || d.LXCURI == "" || d.PID == 0 {
		return nil, errors.New("libvirtd: TAILAB_NETNS, TAILAB_QEMU_URI, TAILAB_LXC_URI, TAILAB_LIBVIRTD_PID not all set")
	}
	return d, nil
}
