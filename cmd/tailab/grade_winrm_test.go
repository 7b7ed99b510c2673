package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/wsman"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

var (
	winBegin = regexp.MustCompile(`<<<TAILAB-([0-9a-f]{16})-BEGIN>>>`)
	winCheck = regexp.MustCompile(`(?m)^@\{ k = '([^']*)';`)
)

// answerOK plays powershell.exe running the winrm probe's program: every
// check's script outputs the string "ok".
func answerOK(_ context.Context, c wsman.Command) wsman.Result {
	prog := string(c.Stdin)
	m := winBegin.FindStringSubmatch(prog)
	if m == nil {
		return wsman.Result{ExitCode: 1}
	}
	begin, end := winrm.Markers(m[1])
	var parts []string
	for _, k := range winCheck.FindAllStringSubmatch(prog, -1) {
		parts = append(parts, k[1]+`:{"ok":true,"value":"ok"}`)
	}
	return wsman.Result{Stdout: []byte("\r\n" + begin + "\r\n{" + strings.Join(parts, ",") + "}\r\n" + end + "\r\n")}
}

// TestGradeWinRMPin grades a Windows machine (a WS-Management test server
// with a self-signed certificate, on the machine's management address and
// WinRM's port) with the certificate pin `up` recorded in its state: the right
// pin passes, a wrong one is an error naming both fingerprints, no pin checks
// the certificate against the system roots (an error, as before), and
// --winrm-ca trusts a centre's CA instead.
func TestGradeWinRMPin(t *testing.T) {
	testenv.RequireIsolatedNetwork(t) // port 5986 of the test's own loopback
	const pw = "Adm1n-Faux-2026!"
	srv := wsman.Start(t, wsman.Config{User: "Administrator", Password: pw, Addr: "127.0.0.1:5986", Handler: answerOK})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	labFile := filepath.Join(dir, "lab.yaml")
	labYAML := `name: win-pin
secrets:
  admin: {value: "` + pw + `"}
networks: [{name: lan, cidr: 10.20.0.0/24}]
machines:
  - name: pc1
    role: client
    kind: vm
    os: windows
    image: win11-fr-base
    memory: 4GiB
    credentials: {winrm: {user: Administrator, password: admin}}
    ready: {winrm: true}
    nics: [{network: lan, address: 10.20.0.21}]
checks: [win.yaml]
`
	suite := `name: win
checks:
  - {id: pc1-winrm, title: Le poste répond, competence: C1.3, machine: pc1, probe: {type: winrm, script: "'ok'"}, expect: {value: ok}}
`
	for f, s := range map[string]string{labFile: labYAML, filepath.Join(dir, "win.yaml"): suite, ca: string(srv.CACertPEM)} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wrong := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		name, pin string
		args      []string
		code      int
		status    checks.Status
		message   []string
	}{
		{name: "pinned", pin: srv.CertSHA256, status: checks.StatusPass},
		{name: "wrong pin", pin: wrong, code: ExitInfra, status: checks.StatusError,
			message: []string{"sha256:0f0f0f0f0f0f0f0f…", "sha256:" + srv.CertSHA256[:16] + "…", "run `tailab up` again"}},
		{name: "no pin", code: ExitInfra, status: checks.StatusError, message: []string{"certificate signed by unknown authority"}},
		{name: "--winrm-ca", pin: wrong, args: []string{"--winrm-ca", ca}, status: checks.StatusPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			st, err := provision.OpenState(data)
			if err != nil {
				t.Fatal(err)
			}
			sess := &provision.Session{Name: "s1", Lab: "win-pin", LabSource: labFile, LabYAML: labYAML, Provider: "libvirt",
				Candidates: []labs.Candidate{{ID: "c01", Index: 1}}}
			if err := st.SaveSession(sess); err != nil {
				t.Fatal(err)
			}
			if err := st.PutMachine(provision.MachineState{Session: "s1", Candidate: "c01", Machine: "pc1", OS: labs.OSWindows,
				MgmtAddress: "127.0.0.1", State: provision.StateReady, TLSPin: tc.pin}); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := runCLI(t, append([]string{"--data-dir", data, "grade", "-s", "s1", "-o", "json"}, tc.args...)...)
			if code := codeOf(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s%s", code, err, tc.code, out, stderr)
			}
			var rep checks.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			r := rep.Candidates[0].Results[0]
			if r.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", r.Status, r.Message, tc.status)
			}
			t.Logf("%s: %s", r.Status, r.Message)
			for _, m := range tc.message {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q lacks %q", r.Message, m)
				}
			}
			if strings.Contains(out+stderr, pw) {
				t.Errorf("the password shows in the output")
			}
		})
	}
	if _, _, err := runCLI(t, "--data-dir", t.TempDir(), "grade", "-s", "s1", "--winrm-ca", filepath.Join(dir, "none.pem")); codeOf(err) != ExitUsage ||
		!strings.Contains(err.Error(), "--winrm-ca") {
		t.Errorf("a missing --winrm-ca file: %v", err)
	}
	if _, _, err := runCLI(t, "--data-dir", t.TempDir(), "grade", "-s", "s1", "--winrm-ca", labFile); codeOf(err) != ExitUsage ||
		!strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a --winrm-ca file without a certificate: %v", err)
	}
}
