package scenario

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/checks/probe/winrm/winrmtest"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv/wsman"
	"github.com/tailab/tailab/labs"
)

const (
	winUser = "Administrateur"
	winPass = "Ex@men-2024!é"
)

// playPS plays the few PowerShell statements the tests' steps use, one per
// line: Write-Output 'text', Write-Error 'text', throw 'text', exit N; other
// lines do nothing.
func playPS(script string) winrmtest.Outcome {
	var o winrmtest.Outcome
	arg := func(l, cmd string) string {
		return strings.ReplaceAll(strings.Trim(strings.TrimSpace(strings.TrimPrefix(l, cmd)), "'"), "''", "'")
	}
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Write-Output "):
			o.Stdout += arg(l, "Write-Output") + "\r\n"
		case strings.HasPrefix(l, "Write-Error "):
			o.Stderr += arg(l, "Write-Error") + "\r\n"
		case strings.HasPrefix(l, "throw "):
			o.Stderr += arg(l, "throw") + "\r\n"
			o.ExitCode = 1
			return o
		case strings.HasPrefix(l, "exit "):
			o.ExitCode, _ = strconv.Atoi(arg(l, "exit"))
			return o
		}
	}
	return o
}

type winrmLab struct {
	srv    *wsman.Server
	host   *winrmtest.Host
	runner *Runner
}

func newWinRMLab(t *testing.T, auth wsman.Auth) *winrmLab {
	t.Helper()
	h := &winrmtest.Host{T: t, Run: playPS}
	srv := wsman.Start(t, wsman.Config{User: winUser, Password: winPass, Auth: auth, Handler: h.Handle})
	client := winrm.New()
	client.CACert = srv.CACertPEM
	if auth == wsman.AuthBasic {
		client.Auth = winrm.AuthBasic
	}
	m := &secret.Masker{}
	m.Add(winPass, "Jury-S3cret")
	return &winrmLab{srv: srv, host: h, runner: &Runner{WinRM: client, Machines: map[string]probe.Target{
		"pc1": {Machine: "pc1", Address: srv.Host, Ports: map[string]int{"winrm": srv.Port}, Masker: m,
			Credentials: map[string]probe.Credentials{"winrm": {User: winUser, Password: secret.New(winPass)}}},
	}}}
}

func winStep(run string) labs.Step {
	return labs.Step{Action: labs.Action{Name: "partage", Machine: "pc1", Transport: "winrm", Run: run}}
}

func TestWinRMStep(t *testing.T) {
	for _, auth := range []wsman.Auth{wsman.AuthNTLM, wsman.AuthBasic} {
		t.Run(fmt.Sprint("auth=", auth), func(t *testing.T) {
			l := newWinRMLab(t, auth)
			run := "New-SmbShare -Name Compta -Path 'C:\\Partages\\Comptabilité'\n\nWrite-Output 'Partage « Compta » créé'\n"
			res, err := l.runner.ApplyStep(context.Background(), winStep(run))
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 || res.Output != "Partage « Compta » créé" || res.Step != "partage" || res.Machine != "pc1" {
				t.Errorf("result %+v", res)
			}
			if got := l.host.Scripts(); len(got) != 1 || got[0] != run {
				t.Errorf("the machine ran %q", got)
			}
			for _, p := range l.host.Programs() {
				if strings.Contains(p, "SmbShare") {
					t.Error("the script travels in clear")
				}
			}
			if st := l.srv.Stats(); st.Shells != 1 || st.Commands != 1 || st.OpenShells != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestWinRMStepFailures(t *testing.T) {
	l := newWinRMLab(t, wsman.AuthNTLM)
	for _, tc := range []struct {
		name, run string
		code      int
		err, out  string
	}{
		{"exit code", "Write-Output 'début'\nWrite-Error 'net.exe : erreur système 5.'\nexit 5\nWrite-Output 'jamais'",
			5, "step partage on pc1: exit status 5: début\nnet.exe : erreur système 5.", "début\nnet.exe : erreur système 5."},
		{"terminating error", "throw 'Le chemin « C:\\Partages » est introuvable.'",
			1, "step partage on pc1: exit status 1: Le chemin « C:\\Partages » est introuvable.", "Le chemin « C:\\Partages » est introuvable."},
		{"secrets masked", "Write-Output 'mot de passe " + winPass + "'\nthrow 'jury Jury-S3cret'",
			1, "exit status 1: mot de passe " + secret.Mask + "\njury " + secret.Mask, "mot de passe " + secret.Mask + "\njury " + secret.Mask},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.runner.ApplyStep(context.Background(), winStep(tc.run))
			if err == nil || res.ExitCode != tc.code {
				t.Fatalf("res %+v, err %v", res, err)
			}
			if !strings.Contains(err.Error(), tc.err) || res.Output != tc.out {
				t.Errorf("error %q\noutput %q\nwant error with %q, output %q", err, res.Output, tc.err, tc.out)
			}
			for _, s := range []string{winPass, "Jury-S3cret"} {
				if strings.Contains(err.Error(), s) || strings.Contains(res.Output, s) {
					t.Errorf("secret %q shown: %v / %q", s, err, res.Output)
				}
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		for _, auth := range []wsman.Auth{wsman.AuthNTLM, wsman.AuthBasic} {
			l := newWinRMLab(t, auth)
			tg := l.runner.Machines["pc1"]
			tg.Credentials = map[string]probe.Credentials{"winrm": {User: winUser, Password: secret.New("Mauvais-mdp")}}
			l.runner.Machines["pc1"] = tg
			_, err := l.runner.ApplyStep(context.Background(), winStep("Write-Output 'x'"))
			if !errors.Is(err, winrm.ErrAuth) || !strings.Contains(err.Error(), "authentication failed (HTTP 401)") ||
				!strings.Contains(err.Error(), "step partage on pc1: winrm ") {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "Mauvais-mdp") || strings.Contains(err.Error(), winPass) {
				t.Fatalf("a password in %v", err)
			}
		}
	})

	t.Run("machine unreachable", func(t *testing.T) {
		l := newWinRMLab(t, wsman.AuthNTLM)
		l.srv.Close()
		start := time.Now()
		res, err := l.runner.ApplyFaults(context.Background(), []labs.Fault{{Action: labs.Action{Name: "pare-feu", Machine: "pc1", Transport: "winrm", Run: "Write-Output 'x'",
			Timeout: labs.Duration(time.Second)}}})
		if err == nil || !strings.Contains(err.Error(), "fault step pare-feu on pc1: winrm ") || !strings.Contains(err.Error(), "connection refused") ||
			!strings.Contains(err.Error(), "(no answer within the step's timeout, 1s, ") {
			t.Fatalf("err = %v", err)
		}
		// Waited for as a restarting machine, until the step's timeout.
		if took := time.Since(start); took < time.Second || took > 5*time.Second || res[0].Attempts < 3 {
			t.Fatalf("gave up after %s, %d attempts", took, res[0].Attempts)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		h := &winrmtest.Host{T: t, Run: playPS}
		srv := wsman.Start(t, wsman.Config{User: winUser, Password: winPass, Handler: func(ctx context.Context, c wsman.Command) wsman.Result {
			<-ctx.Done() // a script that never ends
			return h.Handle(ctx, c)
		}})
		client := winrm.New()
		client.CACert = srv.CACertPEM
		r := &Runner{WinRM: client, Machines: map[string]probe.Target{"pc1": {Address: srv.Host, Ports: map[string]int{"winrm": srv.Port},
			Credentials: map[string]probe.Credentials{"winrm": {User: winUser, Password: secret.New(winPass)}}}}}
		st := winStep("Start-Sleep 3600")
		st.Timeout = labs.Duration(800 * time.Millisecond)
		_, err := r.ApplyStep(context.Background(), st)
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("err = %v", err)
		}
		if s := srv.Stats(); s.OpenShells != 0 {
			t.Fatalf("the shell was left open: %+v", s)
		}
	})
}

// Long outputs are cut at 4 KiB.
func TestWinRMStepOutputCut(t *testing.T) {
	l := newWinRMLab(t, wsman.AuthNTLM)
	run := strings.Repeat("Write-Output 'ligne de journal répétée'\n", 400)
	res, err := l.runner.ApplyStep(context.Background(), winStep(run))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) > maxStepOutput+len("…") || !strings.HasSuffix(res.Output, "…") {
		t.Fatalf("output of %d bytes", len(res.Output))
	}
}
