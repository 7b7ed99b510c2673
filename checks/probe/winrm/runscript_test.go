package winrm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/checks/probe/winrm/winrmtest"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

const (
	rsUser = "Administrateur"
	rsPass = "Ex@men-2024!é"
)

type scriptFixture struct {
	srv   *wsman.Server
	host  *winrmtest.Host
	probe *winrm.WinRM
	tgt   probe.Target
}

func newScriptFixture(t *testing.T, auth wsman.Auth, run func(string) winrmtest.Outcome, tweak func(*wsman.Config)) *scriptFixture {
	t.Helper()
	h := &winrmtest.Host{T: t, Run: run}
	cfg := wsman.Config{User: rsUser, Password: rsPass, Auth: auth, Handler: h.Handle}
	if tweak != nil {
		tweak(&cfg)
	}
	srv := wsman.Start(t, cfg)
	m := &secret.Masker{}
	m.Add("S3cr3t-Jury")
	p := winrm.New()
	p.CACert = srv.CACertPEM
	if auth == wsman.AuthBasic {
		p.Auth = winrm.AuthBasic
	}
	return &scriptFixture{srv: srv, host: h, probe: p, tgt: probe.Target{
		Machine: "pc1", Address: srv.Host, Ports: map[string]int{"winrm": srv.Port},
		Credentials: map[string]probe.Credentials{"winrm": {User: rsUser, Password: secret.New(rsPass)}},
		Masker:      m,
	}}
}

func TestRunScript(t *testing.T) {
	script := "$ErrorActionPreference = 'Stop'\nNew-Item -ItemType Directory 'C:\\Partages\\Comptabilité' | Out-Null\n\nWrite-Output « fait »\n"
	for _, tc := range []struct {
		name    string
		auth    wsman.Auth
		outcome winrmtest.Outcome
		want    winrm.ScriptResult
	}{
		{"ntlm, success", wsman.AuthNTLM, winrmtest.Outcome{Stdout: "« fait »\r\n"}, winrm.ScriptResult{Stdout: "« fait »"}},
		{"basic, success", wsman.AuthBasic, winrmtest.Outcome{Stdout: "ok"}, winrm.ScriptResult{Stdout: "ok"}},
		{"exit code", wsman.AuthNTLM, winrmtest.Outcome{Stdout: "partiel", Stderr: "net.exe : erreur système 5.", ExitCode: 2},
			winrm.ScriptResult{Stdout: "partiel", Stderr: "net.exe : erreur système 5.", ExitCode: 2}},
		{"threw", wsman.AuthNTLM, winrmtest.Outcome{Stderr: "Impossible de trouver le chemin d'accès « C:\\x »\r\n", ExitCode: 1},
			winrm.ScriptResult{Stderr: "Impossible de trouver le chemin d'accès « C:\\x »", ExitCode: 1}},
		{"ended the process itself", wsman.AuthNTLM, winrmtest.Outcome{NoEndLine: true, ExitCode: 7}, winrm.ScriptResult{ExitCode: 7}},
		{"secrets masked", wsman.AuthNTLM, winrmtest.Outcome{Stdout: "mdp " + rsPass + " jury S3cr3t-Jury", Stderr: string(wsman.CLIXML("refusé pour " + rsPass)), ExitCode: 1},
			winrm.ScriptResult{Stdout: "mdp " + secret.Mask + " jury " + secret.Mask, Stderr: "refusé pour " + secret.Mask, ExitCode: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newScriptFixture(t, tc.auth, func(string) winrmtest.Outcome { return tc.outcome }, nil)
			res, err := f.probe.RunScript(context.Background(), f.tgt, script)
			if err != nil {
				t.Fatal(err)
			}
			if res != tc.want {
				t.Errorf("result %+v, want %+v", res, tc.want)
			}
			if got := f.host.Scripts(); len(got) != 1 || got[0] != script {
				t.Errorf("the machine got %q", got)
			}
			if st := f.srv.Stats(); st.Shells != 1 || st.Commands != 1 || st.OpenShells != 0 || st.Deletes != 1 {
				t.Errorf("want one shell and one command, cleaned up: %+v", st)
			}
		})
	}
}

func TestRunScriptErrors(t *testing.T) {
	ok := func(string) winrmtest.Outcome { return winrmtest.Outcome{} }
	noPassword := func(t *testing.T, err error) {
		t.Helper()
		if strings.Contains(err.Error(), rsPass) || strings.Contains(err.Error(), "Mauvais") {
			t.Errorf("a password in the error: %v", err)
		}
	}
	t.Run("wrong password", func(t *testing.T) {
		for _, auth := range []wsman.Auth{wsman.AuthNTLM, wsman.AuthBasic} {
			f := newScriptFixture(t, auth, ok, nil)
			f.tgt.Credentials["winrm"] = probe.Credentials{User: rsUser, Password: secret.New("Mauvais-mdp")}
			_, err := f.probe.RunScript(context.Background(), f.tgt, "'a'")
			if !errors.Is(err, winrm.ErrAuth) || !strings.Contains(err.Error(), "401") {
				t.Fatalf("err = %v", err)
			}
			noPassword(t, err)
			if st := f.srv.Stats(); st.Shells != 0 || st.AuthFailures == 0 {
				t.Fatalf("stats %+v", st)
			}
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		f := newScriptFixture(t, wsman.AuthNTLM, ok, nil)
		f.tgt.Credentials = nil
		if _, err := f.probe.RunScript(context.Background(), f.tgt, "'a'"); err == nil || !strings.Contains(err.Error(), "no WinRM credentials") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("machine down", func(t *testing.T) {
		f := newScriptFixture(t, wsman.AuthNTLM, ok, nil)
		f.srv.Close()
		_, err := f.probe.RunScript(context.Background(), f.tgt, "'a'")
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), fmt.Sprint(f.srv.Port)) {
			t.Fatalf("err = %v", err)
		}
		noPassword(t, err)
	})
	t.Run("program not run", func(t *testing.T) {
		f := newScriptFixture(t, wsman.AuthNTLM, func(string) winrmtest.Outcome {
			return winrmtest.Outcome{NoEndLine: true, Stderr: string(wsman.CLIXML("Jeton inattendu « } » dans l'expression ou l'instruction."))}
		}, nil)
		_, err := f.probe.RunScript(context.Background(), f.tgt, "'a'")
		if err == nil || !strings.Contains(err.Error(), "without the program's end line") || !strings.Contains(err.Error(), "Jeton inattendu") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		f := newScriptFixture(t, wsman.AuthNTLM, ok, func(cfg *wsman.Config) {
			cfg.Latency = func(action string) time.Duration {
				if action == wsman.ActionReceive {
					return 3 * time.Second
				}
				return 0
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.probe.RunScript(ctx, f.tgt, "Start-Sleep 600")
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("RunScript took %v past a 700ms deadline", d)
		}
		if st := f.srv.Stats(); st.OpenShells != 0 || st.Signals != 1 {
			t.Fatalf("the shell was not cleaned up: %+v", st)
		}
	})
}

// A script far beyond -EncodedCommand's reach travels on stdin, in several Sends.
func TestRunScriptLong(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 20000; i++ {
		fmt.Fprintf(&b, "New-ADGroup -Name 'GG_Service_%03d_Comptabilité' -GroupScope Global\n", i)
	}
	f := newScriptFixture(t, wsman.AuthNTLM, func(s string) winrmtest.Outcome {
		return winrmtest.Outcome{Stdout: fmt.Sprint(len(s))}
	}, nil)
	f.probe.EnvelopeSize = 20000
	res, err := f.probe.RunScript(context.Background(), f.tgt, b.String())
	if err != nil || res.Stdout != fmt.Sprint(len(b.String())) {
		t.Fatalf("%+v %v", res, err)
	}
	if st := f.srv.Stats(); st.Sends < 2 {
		t.Fatalf("one Send for a long script: %+v", st)
	}
	for _, p := range f.host.Programs() {
		if strings.Contains(p, "GG_Service_") {
			t.Fatal("the script travels in clear inside the program")
		}
	}
}
