package gateway

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
)

// TestListenInNetns: a listener opened in another network namespace answers
// there (on its loopback) and not in the process's own — how the demo's
// gateway, run beside the machines in the private daemon's namespace,
// answers on the host's 127.0.0.1.
func TestListenInNetns(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	unshare := testenv.RequireBinary(t, "unshare")
	nsenter := testenv.RequireBinary(t, "nsenter")
	other := exec.Command(unshare, "--net", "--", "sh", "-c", "ip link set lo up && echo ready && exec sleep 60")
	out, err := other.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the other namespace: %q, %v", line, err)
	}
	ns := fmt.Sprintf("/proc/%d/ns/net", other.Process.Pid)

	ln, err := listenIn(ns, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "hello from the other side")
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second); err == nil {
		c.Close()
		t.Errorf("the listener answers in the process's own namespace")
	}
	read := exec.Command(nsenter, "--net="+ns, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && head -1 <&3", port))
	got, err := read.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "hello from the other side" {
		t.Errorf("from the other namespace: %q, %v", got, err)
	}
	if _, err := listenIn("/nonexistent/ns", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "network namespace") {
		t.Errorf("a missing namespace: %v", err)
	}
	// the process's own namespace is untouched: a listener without nsPath is here
	own, err := listenIn("", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if c, err := net.DialTimeout("tcp", own.Addr().String(), 2*time.Second); err != nil {
		t.Errorf("own namespace: %v", err)
	} else {
		c.Close()
	}
}
