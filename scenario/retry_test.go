package scenario

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/checks/probe/winrm/winrmtest"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/internal/testenv/wsman"
	"github.com/tailab/tailab/labs"
)

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// winServer starts a WS-Management test server playing h on addr, closed at
// the end of the test.
func winServer(t *testing.T, addr string, h *winrmtest.Host) *wsman.Server {
	t.Helper()
	s, err := wsman.New(wsman.Config{User: winUser, Password: winPass, Addr: addr, Handler: h.Handle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// insecureWinRM is a WinRM client that accepts the test server's certificate.
func insecureWinRM() *winrm.WinRM {
	c := winrm.New()
	c.Insecure = true
	return c
}

// lateWSMan starts a WS-Management server on addr after delay.
func lateWSMan(t *testing.T, addr string, delay time.Duration, h *winrmtest.Host) <-chan *wsman.Server {
	t.Helper()
	ch := make(chan *wsman.Server, 1)
	go func() {
		time.Sleep(delay)
		s, err := wsman.New(wsman.Config{User: winUser, Password: winPass, Addr: addr, Handler: h.Handle})
		if err != nil {
			t.Errorf("late server: %v", err)
			close(ch)
			return
		}
		t.Cleanup(s.Close)
		ch <- s
	}()
	return ch
}

// splitAddr splits host:port.
func splitAddr(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return host, p
}

// winTarget is pc1 with its WinRM endpoint at addr.
func winTarget(addr string) probe.Target {
	host, port := splitAddr(addr)
	return probe.Target{Machine: "pc1", Address: host, Ports: map[string]int{"winrm": port},
		Credentials: map[string]probe.Credentials{"winrm": {User: winUser, Password: secret.New(winPass)}}}
}

// A step whose machine does not answer yet (it restarts) is sent again until
// the machine answers, within the step's timeout; a step that reached the
// machine, or that the machine refused, is never sent again.
func TestStepWaitsForMachine(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	type outcome struct {
		attempts int    // at least
		err      string // "" = success
		commands int    // commands the (late) machine ran
	}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		setup   func(t *testing.T) (*Runner, labs.Step, func() int)
		want    outcome
	}{
		{"winrm, machine up after 600ms", 10 * time.Second, func(t *testing.T) (*Runner, labs.Step, func() int) {
			addr := freeAddr(t, "127.0.0.21")
			h := &winrmtest.Host{T: t, Run: playPS}
			srv := lateWSMan(t, addr, 600*time.Millisecond, h)
			client := insecureWinRM()
			var s *wsman.Server
			return &Runner{WinRM: client, Machines: map[string]probe.Target{"pc1": winTarget(addr)}},
				winStep("Write-Output 'partage créé'"), func() int {
					if s == nil {
						s = <-srv
					}
					return s.Stats().Commands
				}
		}, outcome{attempts: 2, commands: 1}},
		{"winrm, machine never up", time.Second, func(t *testing.T) (*Runner, labs.Step, func() int) {
			client := insecureWinRM()
			return &Runner{WinRM: client, Machines: map[string]probe.Target{"pc1": winTarget(freeAddr(t, "127.0.0.21"))}},
				winStep("Write-Output 'x'"), nil
		}, outcome{attempts: 3, err: "connection refused (no answer within the step's timeout, 1s, "}},
		{"winrm, login refused: not retried", 10 * time.Second, func(t *testing.T) (*Runner, labs.Step, func() int) {
			l := newWinRMLab(t, wsman.AuthNTLM)
			tg := l.runner.Machines["pc1"]
			tg.Credentials = map[string]probe.Credentials{"winrm": {User: winUser, Password: secret.New("Mauvais-mdp")}}
			l.runner.Machines["pc1"] = tg
			return l.runner, winStep("Write-Output 'x'"), func() int { return l.srv.Stats().Commands }
		}, outcome{attempts: 1, err: "authentication failed (HTTP 401)"}},
		{"winrm, machine gone while the step runs: not sent again", 10 * time.Second, func(t *testing.T) (*Runner, labs.Step, func() int) {
			addr := freeAddr(t, "127.0.0.21")
			h := &winrmtest.Host{T: t, Run: playPS}
			first, err := wsman.New(wsman.Config{User: winUser, Password: winPass, Addr: addr, Handler: h.Handle,
				Latency: func(action string) time.Duration {
					if action == wsman.ActionReceive {
						return 2 * time.Second
					}
					return 0
				}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(first.Close)
			var second *wsman.Server
			go func() { // the machine restarts while the script runs, and is back at once
				for first.Stats().Sends == 0 {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(100 * time.Millisecond)
				first.Close()
				s, err := wsman.New(wsman.Config{User: winUser, Password: winPass, Addr: addr, Handler: h.Handle})
				if err != nil {
					t.Errorf("second server: %v", err)
					return
				}
				t.Cleanup(s.Close)
				second = s
			}()
			client := insecureWinRM()
			return &Runner{WinRM: client, Machines: map[string]probe.Target{"pc1": winTarget(addr)}}, winStep("Write-Output 'x'"),
				func() int {
					n := first.Stats().Commands
					if second != nil {
						n += second.Stats().Commands
					}
					return n
				}
		}, outcome{attempts: 1, err: "receive output", commands: 1}},
		{"ssh, sshd up after 600ms", 10 * time.Second, func(t *testing.T) (*Runner, labs.Step, func() int) {
			_, keyPEM, pub := sshd.NewClientKey(t)
			srv := sshd.Start(t, sshd.Options{Host: "127.0.0.22", AuthorizedKeys: []xssh.PublicKey{pub}})
			addr := freeAddr(t, "127.0.0.23")
			testenv.LateProxy(t, addr, srv.Addr(), 600*time.Millisecond)
			host, port := splitAddr(addr)
			tg := probe.Target{Machine: "pc1", Address: host, Ports: map[string]int{"ssh": port},
				Credentials: map[string]probe.Credentials{"ssh": {User: srv.User, PrivateKey: secret.New(keyPEM)}}}
			return &Runner{Machines: map[string]probe.Target{"pc1": tg}},
				labs.Step{Action: labs.Action{Name: "dns", Machine: "pc1", Transport: "ssh", Run: "echo prêt"}}, nil
		}, outcome{attempts: 2}},
		{"ldap, DC never up", time.Second, func(t *testing.T) (*Runner, labs.Step, func() int) {
			tg := winTarget(freeAddr(t, "127.0.0.24"))
			tg.Credentials = map[string]probe.Credentials{"ldap": {User: "Administrator", Domain: "lab.local", Password: secret.New(winPass)}}
			return &Runner{Machines: map[string]probe.Target{"pc1": tg}},
				labs.Step{Action: labs.Action{Name: "ou", Machine: "pc1", Transport: "ldap", Run: "dn: OU=X,DC=lab,DC=local\nchangetype: delete\n"}}, nil
		}, outcome{attempts: 3, err: "connection refused (no answer within the step's timeout, 1s, "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, st, commands := tc.setup(t)
			st.Timeout = labs.Duration(tc.timeout)
			start := time.Now()
			res, err := r.ApplyStep(context.Background(), st)
			took := time.Since(start)
			attempts := max(res.Attempts, 1)
			switch {
			case tc.want.err == "" && err != nil:
				t.Fatalf("err = %v (%d attempts, %s)", err, attempts, took)
			case tc.want.err != "" && (err == nil || !strings.Contains(err.Error(), tc.want.err)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want.err)
			}
			if attempts < tc.want.attempts || (tc.want.attempts == 1 && attempts != 1) {
				t.Errorf("%d attempts, want %d", attempts, tc.want.attempts)
			}
			if tc.want.err != "" && tc.timeout < 5*time.Second && (took < tc.timeout || took > tc.timeout+3*time.Second) {
				t.Errorf("gave up after %s, timeout %s", took, tc.timeout)
			}
			if commands != nil {
				if n := commands(); n != tc.want.commands {
					t.Errorf("the machine ran %d commands, want %d", n, tc.want.commands)
				}
			}
			t.Logf("%d attempts, %s: %+v %v", attempts, took.Round(time.Millisecond), res, err)
		})
	}
}

// After a step that restarts its machine (shutdown /r /t N), the next step on
// it waits until the machine went down and answers again: it runs on the
// restarted machine, not in the seconds before the restart.
func TestStepAfterRestart(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	addr := freeAddr(t, "127.0.0.25")
	h := &winrmtest.Host{T: t, Run: playPS}
	before := winServer(t, addr, h)
	client := winrm.New()
	tg := winTarget(addr)
	tg.TLSPin = before.CertSHA256 // httptest's certificate: the same after the restart, as Windows keeps its own
	r := &Runner{WinRM: client, Machines: map[string]probe.Target{"pc1": tg}}

	promote := labs.Step{Action: labs.Action{Name: "ad-promotion", Machine: "pc1", Transport: "winrm", Run: "Install-ADDSForest -DomainName 'agence.lan' -NoRebootOnCompletion -Force | Out-Null\nshutdown.exe /r /t 1 /c \"Promotion du controleur de domaine\"\n"}}
	if _, err := r.ApplyStep(context.Background(), promote); err != nil {
		t.Fatal(err)
	}
	var after *wsman.Server
	var mu sync.Mutex
	go func() { // the restart: down 1.3 s after the step, back 0.7 s later
		time.Sleep(1300 * time.Millisecond)
		before.Close()
		time.Sleep(700 * time.Millisecond)
		s, err := wsman.New(wsman.Config{User: winUser, Password: winPass, Addr: addr, Handler: h.Handle})
		if err != nil {
			t.Errorf("restarted server: %v", err)
			return
		}
		t.Cleanup(s.Close)
		mu.Lock()
		after = s
		mu.Unlock()
	}()
	start := time.Now()
	next := labs.Step{Action: labs.Action{Name: "ad-utilisateur", Machine: "pc1", Transport: "winrm", Run: "Write-Output 'utilisateur créé'"}}
	res, err := r.ApplyStep(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if before.Stats().Commands != 1 || after == nil || after.Stats().Commands != 1 || took < 2*time.Second {
		t.Fatalf("the next step ran after %s, before the restart: %d commands, after: %v (%+v)", took, before.Stats().Commands, after != nil, res)
	}
	// A later step on the machine does not wait again.
	start = time.Now()
	if _, err := r.ApplyStep(context.Background(), next); err != nil || time.Since(start) > time.Second || after.Stats().Commands != 2 {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

// A machine a step restarted that does not come back fails the next step on
// it once RestartTimeout passes, naming the step that restarted it.
func TestStepAfterRestartNotBack(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	addr := freeAddr(t, "127.0.0.26")
	h := &winrmtest.Host{T: t, Run: playPS}
	srv := winServer(t, addr, h)
	client := insecureWinRM()
	r := &Runner{WinRM: client, RestartTimeout: time.Second, Machines: map[string]probe.Target{"pc1": winTarget(addr)}}
	if _, err := r.ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "jonction", Machine: "pc1", Transport: "winrm", Run: "Restart-Computer -Force"}}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	_, err := r.ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "dhcp", Machine: "pc1", Transport: "winrm", Run: "Write-Output 'x'"}})
	if err == nil || !strings.Contains(err.Error(), "step dhcp: machine pc1 did not answer within 1s of the restart step jonction scheduled") {
		t.Fatalf("err = %v", err)
	}
}

func TestRestartAfter(t *testing.T) {
	for _, tc := range []struct {
		transport, run string
		delay          time.Duration
		restarts       bool
	}{
		{"winrm", `shutdown.exe /r /t 15 /c "Promotion du controleur de domaine"`, 15 * time.Second, true},
		{"winrm", "Add-Computer -DomainName agence.lan -Credential $cred -Force\nshutdown.exe /r /t 15 /c \"Jonction au domaine\"", 15 * time.Second, true},
		{"winrm", "shutdown /r", 30 * time.Second, true},
		{"winrm", "shutdown -r -t 0", 0, true},
		{"winrm", "SHUTDOWN.EXE /R /T 5", 5 * time.Second, true},
		{"winrm", "Restart-Computer -Force", 0, true},
		{"winrm", "Rename-Computer -NewName COMPTA-PC07 -Force -Restart", 0, true},
		{"winrm", "Rename-Computer -NewName COMPTA-PC07 -Force", 0, false},
		{"winrm", "shutdown.exe /s /t 0", 0, false},
		{"winrm", "shutdown.exe /a", 0, false},
		{"winrm", "# shutdown.exe /r /t 0 (plus tard)\nWrite-Output 'x'", 0, false},
		{"winrm", "Get-Service | Where-Object Name -eq 'Shutdown'", 0, false},
		{"winrm", "Set-ItemProperty -Path HKLM:\\x -Name ShutdownWarning -Value 1 -Type DWord", 0, false},
		{"ssh", "shutdown -r now", 0, false},
		{"winrm+restarts", "Install-ADDSForest -DomainName agence.lan -Force", 0, true},
		{"winrm+restarts", "shutdown.exe /r /t 20", 20 * time.Second, true},
	} {
		st := labs.Step{Action: labs.Action{Transport: strings.TrimSuffix(tc.transport, "+restarts"), Run: tc.run}, Restarts: strings.HasSuffix(tc.transport, "+restarts")}
		d, ok := restartAfter(st)
		if ok != tc.restarts || d != tc.delay {
			t.Errorf("restartAfter(%s %q) = %s, %v; want %s, %v", tc.transport, tc.run, d, ok, tc.delay, tc.restarts)
		}
	}
}

// A machine that restarted while steps ran on other machines is not waited
// for again: the runner watched it go down.
func TestStepAfterRestartMeanwhile(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	addr := freeAddr(t, "127.0.0.27")
	h := &winrmtest.Host{T: t, Run: playPS}
	before := winServer(t, addr, h)
	client := insecureWinRM()
	r := &Runner{WinRM: client, Machines: map[string]probe.Target{"srv": winTarget(addr)}}
	if _, err := r.ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "srv-domaine", Machine: "srv", Transport: "winrm", Run: "shutdown.exe /r /t 0"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	before.Close()
	time.Sleep(300 * time.Millisecond)
	after := winServer(t, addr, h)
	time.Sleep(500 * time.Millisecond) // steps on other machines
	start := time.Now()
	if _, err := r.ApplyStep(context.Background(), labs.Step{Action: labs.Action{Name: "dhcp", Machine: "srv", Transport: "winrm", Run: "Write-Output 'x'"}}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second || after.Stats().Commands != 1 {
		t.Fatalf("the step waited %s for a restart that was over", took)
	}
}
