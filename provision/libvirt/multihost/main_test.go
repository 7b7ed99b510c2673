// Package multihost tests the libvirt provider over two hosts: two private
// libvirtd daemons, each in its own network namespace (scripts/libvirtd-netns.sh),
// reached from one process through their ?socket= URIs.
package multihost

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain starts both daemons, re-executes the test binary inside the first
// one's network namespace (nothing the tests do touches the host's network),
// then stops both by their PIDs.
const innerEnv = "TAILAB_MH_INNER"

// daemons are the env files of the two daemons (TAILAB_NETNS, TAILAB_LXC_URI...).
var daemons [2]map[string]string

func TestMain(m *testing.M) {
	if os.Getenv(innerEnv) == "1" {
		for i := range daemons {
			daemons[i] = map[string]string{}
			for _, line := range strings.Split(os.Getenv(fmt.Sprintf("TAILAB_MH_ENV%d", i)), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					daemons[i][k] = v
				}
			}
		}
		os.Exit(m.Run())
	}
	script, _ := filepath.Abs("../../../scripts/libvirtd-netns.sh")
	_, lerr := exec.LookPath("/usr/sbin/libvirtd")
	if os.Geteuid() != 0 || lerr != nil {
		os.Exit(m.Run()) // the tests fail in CI / skip locally via testenv.Unavailable
	}
	var dirs []string
	for i := range 2 {
		dir, err := os.MkdirTemp("/tmp", fmt.Sprintf("tailab-mh%d-", i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		dirs = append(dirs, dir)
	}
	code := run(m, script, dirs)
	for _, dir := range dirs {
		_ = exec.Command("bash", script, "stop", dir).Run()
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func run(m *testing.M, script string, dirs []string) int {
	env := append(os.Environ(), innerEnv+"=1")
	ns := ""
	for i, dir := range dirs {
		start := exec.Command("bash", script, "start", dir)
		start.Stderr = os.Stderr
		out, err := start.Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "start private libvirtd %d: %v\n%s", i, err, out)
			return 1
		}
		env = append(env, fmt.Sprintf("TAILAB_MH_ENV%d=%s", i, strings.TrimSpace(string(out))))
		if i == 0 {
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "TAILAB_NETNS="); ok {
					ns = v
				}
			}
		}
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}
