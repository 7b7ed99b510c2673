package verifytest_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The integration tests run inside the network namespace of a private libvirtd
// that TestMain starts with scripts/libvirtd-netns.sh (so the tests reach every
// machine's management address, and nothing touches the host's network), then
// stops by its PID.
const innerEnv = "TAILAB_IT_INNER"

var daemonEnv = map[string]string{}

func TestMain(m *testing.M) {
	if os.Getenv(innerEnv) == "1" {
		for _, k := range []string{"TAILAB_QEMU_URI", "TAILAB_LXC_URI", "TAILAB_HOSTVAR", "TAILAB_NETNS", "TAILAB_LIBVIRTD_DIR"} {
			daemonEnv[k] = os.Getenv(k)
		}
		os.Exit(m.Run())
	}
	script, _ := filepath.Abs("../../scripts/libvirtd-netns.sh")
	_, lerr := exec.LookPath("/usr/sbin/libvirtd")
	if os.Geteuid() != 0 || lerr != nil {
		os.Exit(m.Run()) // integration tests fail in CI / skip locally via unavailable()
	}
	dir, err := os.MkdirTemp("/tmp", "tailab-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := run(m, script, dir)
	_ = exec.Command("bash", script, "stop", dir).Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(m *testing.M, script, dir string) int {
	start := exec.Command("bash", script, "start", dir)
	start.Stderr = os.Stderr
	if out, err := start.Output(); err != nil {
		fmt.Fprintf(os.Stderr, "start private libvirtd: %v\n%s", err, out)
		return 1
	}
	env := os.Environ()
	ns := ""
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		env = append(env, line)
		if v, ok := strings.CutPrefix(line, "TAILAB_NETNS="); ok {
			ns = v
		}
	}
	f.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(env, innerEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}
