package libvirt_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// gatewayLab is containLab with the gateway's access: root, and port 22 of
// srv reachable with a forward.
var gatewayLab = strings.Replace(strings.Replace(containLab, "name: contain-lab", "name: gateway-lab", 1),
	"  credentials: {ssh: {user: root, key: key}}\n", "  credentials: {ssh: {user: root, key: key}}\n  access: {user: root}\n", 1)

// TestGatewayContained is the candidates' gateway on real contained
// containers: 2 candidates up on the private libvirtd, OpenSSH's client with
// c01's password gets c01's srv (hostname, its root a host uid of its own
// user namespace) and a command's exit status; c01 is refused on c02's
// machine and on c02's management address; every attempt is audited.
func TestGatewayContained(t *testing.T) {
	needDaemon(t)
	rootfs := containedRootFS(t)
	sshBin := testenv.RequireBinary(t, "ssh")
	ctx := context.Background()
	dataDir := t.TempDir()
	eng := newEngineLayout(t, dataDir, "", rootfs)
	lab, err := labs.Load("gateway-lab.yaml", []byte(gatewayLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, plan := sessionPlan(t, eng, "gw1", lab, []byte(gatewayLab), 2)
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) })
	if err := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	gs, err := store.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	pws, err := gateway.Passwords(gs, "gw1", []string{"c01", "c02"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.OpenWindow(gs, "gw1", time.Now()); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{DataDir: dataDir, Session: "gw1", RecordDir: filepath.Join(dataDir, "rec")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gw.ServeSSH(gctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; gw.Close() })
	states, _ := eng.State.Machines("gw1")
	mgmt := map[string]string{}
	for _, m := range states {
		mgmt[m.Candidate+"/"+m.Machine] = m.MgmtAddress
	}

	askpass := filepath.Join(t.TempDir(), "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho \"$GW_PASSWORD\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ssh := func(user, password string, args ...string) (string, string, int) {
		base := []string{"-F", "/dev/null", "-p", port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=INFO", "-l", user}
		cmd := exec.Command(sshBin, append(append(base, args...), "127.0.0.1")...)
		if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") && (n < 2 || args[n-2] != "-W") {
			cmd = exec.Command(sshBin, append(append(base, args[:n-1]...), "127.0.0.1", args[n-1])...)
		}
		cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0", "GW_PASSWORD="+password)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), errb.String(), code
	}
	c01 := pws["c01"].Reveal()
	out, errOut, code := ssh("c01+srv", c01, "hostname; cat /proc/self/uid_map")
	if code != 0 || !strings.HasPrefix(out, "srv\n") {
		t.Fatalf("c01+srv: code %d, out %q, stderr %q", code, out, errOut)
	}
	if f := strings.Fields(strings.SplitN(out, "\n", 3)[1]); len(f) != 3 || f[0] != "0" || f[1] == "0" {
		t.Errorf("root in c01's srv is not an unprivileged host uid: %q", out)
	}
	if _, _, code := ssh("c01+srv", c01, "exit 7"); code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
	if _, errOut, code := ssh("c02+srv", c01, "hostname"); code != 255 || !strings.Contains(errOut, "Identifiant ou mot de passe incorrect") {
		t.Errorf("c01's password on c02+srv: code %d, %q", code, errOut)
	}
	if _, errOut, code := ssh("c01", c01, "-W", mgmt["c02/srv"]+":22"); code != 255 || !strings.Contains(errOut, "destination interdite") {
		t.Errorf("forward to c02's srv: code %d, %q", code, errOut)
	}
	// The admin's exec on both candidates' srv (the session key, the pinned
	// host keys): each its own exit code; then c02's pin replaced by c01's
	// key: an error naming both fingerprints.
	cmd := "ip -4 -o addr show | grep -q ' inet " + mgmt["c02/srv"] + "/' && exit 3; hostname"
	rs, err := exam.Exec(ctx, exam.ExecOptions{DataDir: dataDir, Session: "gw1", Machine: "srv", Command: cmd})
	if err != nil || len(rs) != 2 || rs[0].Candidate != "c01" || rs[0].ExitCode != 0 || rs[0].Stdout != "srv\n" ||
		rs[1].Candidate != "c02" || rs[1].ExitCode != 3 || rs[1].Error != "" {
		t.Errorf("exec on both srv: %v, %+v", err, rs)
	}
	pins := map[string]string{}
	for _, m := range states {
		pins[m.Candidate+"/"+m.Machine] = m.SSHHostKey
	}
	if err := eng.State.PutMachines([]provision.MachineState{{Session: "gw1", Candidate: "c02", Machine: "srv", Kind: labs.KindContainer,
		MgmtAddress: mgmt["c02/srv"], State: provision.StateReady, SSHHostKey: pins["c01/srv"]}}); err != nil {
		t.Fatal(err)
	}
	rs, err = exam.Exec(ctx, exam.ExecOptions{DataDir: dataDir, Session: "gw1", Candidates: []string{"c02"}, Machine: "srv", Command: "true"})
	if err != nil || len(rs) != 1 || !strings.Contains(rs[0].Error, pins["c01/srv"]) || !strings.Contains(rs[0].Error, pins["c02/srv"]) {
		t.Errorf("exec with a pin that is not c02's key: %v, %+v", err, rs)
	}
	gw.Close() // flush the audit log
	log, err := eng.State.AuditLog("gw1")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range log {
		lines = append(lines, e.Action+" "+e.Candidate+" "+e.Machine+" "+e.Detail)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"login c01  ssh from 127.0.0.1: accepted", "terminal c01 srv exec hostname", "login c02  ssh from 127.0.0.1: refused", "forward c01  to " + mgmt["c02/srv"] + ":22 refused",
		"exec c01 srv command: " + cmd, "exec c01 srv ended: exit status 0", "exec c02 srv ended: exit status 3", "exec c02 srv failed after "} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log lacks %q:\n%s", want, all)
		}
	}
}
