package winrm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

const (
	testUser = "Administrateur"
	testPass = "Ex@men-2024!é"
)

type fixture struct {
	srv   *wsman.Server
	ps    *fakePS
	probe *WinRM
	tgt   probe.Target
}

func newFixture(t *testing.T, auth wsman.Auth, tweak func(*fakePS, *wsman.Config)) *fixture {
	t.Helper()
	ps := &fakePS{t: t, answer: recordedAnswer}
	cfg := wsman.Config{User: testUser, Password: testPass, Auth: auth, Handler: ps.handle}
	if tweak != nil {
		tweak(ps, &cfg)
	}
	srv := wsman.Start(t, cfg)
	masker := &secret.Masker{}
	masker.Add(testPass, "S3cr3t-Jury")
	p := New()
	p.CACert = srv.CACertPEM
	if auth == wsman.AuthBasic {
		p.Auth = AuthBasic
	}
	return &fixture{srv: srv, ps: ps, probe: p, tgt: probe.Target{
		Session: "s1", Candidate: "c01", Machine: "pc-candidat",
		Address: srv.Host, Ports: map[string]int{"winrm": srv.Port},
		Credentials: map[string]probe.Credentials{"winrm": {User: testUser, Password: secret.New(testPass)}},
		Masker:      masker,
	}}
}

func reqs(scripts ...string) []probe.Request {
	out := make([]probe.Request, len(scripts))
	for i, s := range scripts {
		out[i] = probe.Request{ID: fmt.Sprintf("check_%02d", i), Params: &Params{Script: s}}
	}
	return out
}

func (f *fixture) run(t *testing.T, ctx context.Context, rs []probe.Request) []probe.Observation {
	t.Helper()
	obs, err := f.probe.Run(ctx, f.tgt, rs)
	if err != nil {
		t.Fatalf("Run: %v (stats %+v)", err, f.srv.Stats())
	}
	if len(obs) != len(rs) {
		t.Fatalf("%d observations for %d requests", len(obs), len(rs))
	}
	for i := range obs {
		if obs[i].ID != rs[i].ID {
			t.Fatalf("observation %d is %q, want %q", i, obs[i].ID, rs[i].ID)
		}
	}
	return obs
}

// oneShellOneCommand asserts how the probe used the protocol for one Run.
func oneShellOneCommand(t *testing.T, s *wsman.Server) {
	t.Helper()
	st := s.Stats()
	if st.Shells != 1 || st.Commands != 1 || st.OpenShells != 0 || st.Deletes != 1 {
		t.Fatalf("want one shell and one command, cleaned up: %+v", st)
	}
}

func TestRunPassFailAndErrorPerCheck(t *testing.T) {
	for _, auth := range []wsman.Auth{wsman.AuthNTLM, wsman.AuthBasic} {
		t.Run(fmt.Sprint("auth=", auth), func(t *testing.T) {
			f := newFixture(t, auth, nil)
			rs := reqs(
				"Get-CimInstance Win32_OperatingSystem |\n  Select-Object Caption, Version, BuildNumber, OSLanguage, InstallDate, CSName, OSArchitecture, LastBootUpTime",
				"Get-LocalGroupMember -SID S-1-5-32-544 | Select-Object Name, SID, PrincipalSource, ObjectClass",
				"(Get-MpComputerStatus).RealTimeProtectionEnabled",
				"Get-Item 'C:\\Partages\\Compta'",
				"$ou = Get-ADOrganizationalUnit -Filter \"Name -eq 'Élèves'\"\nif (-not $ou) { throw \"Unité d'organisation introuvable : OU=Élèves,DC=tailab,DC=lan\" }",
				"Start-Sleep -Seconds 600",
				"Get-Service Spooler | Out-Null",
			)
			rs[5].Params.(*Params).Timeout = 2 * time.Second
			obs := f.run(t, context.Background(), rs)

			os := obs[0]
			if os.Err != nil {
				t.Fatal(os.Err)
			}
			for k, want := range map[string]any{
				"ok": true, "BuildNumber": "22631", "OSLanguage": int64(1036), "Caption": "Microsoft Windows 11 Professionnel",
				"InstallDate": "2024-05-02T08:30:00Z", "CSName": "PC-CANDIDAT01",
			} {
				if got := os.Values[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("os.%s = %#v, want %#v", k, got, want)
				}
			}
			if v, ok := os.Values["value"].(map[string]any); !ok || v["Version"] != "10.0.22631" {
				t.Errorf("os.value = %#v", os.Values["value"])
			}

			admins, ok := obs[1].Values["value"].([]any)
			if obs[1].Err != nil || !ok || len(admins) != 2 {
				t.Fatalf("admins: %v %#v", obs[1].Err, obs[1].Values)
			}
			sid := admins[1].(map[string]any)["SID"].(map[string]any)["Value"]
			if sid != "S-1-5-21-3623811015-3361044348-30300820-512" {
				t.Errorf("admins[1].SID.Value = %v", sid)
			}
			if obs[2].Values["value"] != true || obs[2].Values["ok"] != true {
				t.Errorf("defender: %#v", obs[2].Values)
			}

			// The machine answered with an error: an observation (ok false), not an Err.
			for _, i := range []int{3, 4} {
				o := obs[i]
				if o.Err != nil || o.Values["ok"] != false || o.Values["error"] == "" {
					t.Fatalf("check %d: %v %#v", i, o.Err, o.Values)
				}
			}
			if e := obs[3].Values["error"].(string); !strings.Contains(e, "« C:\\Partages\\Compta »") ||
				obs[3].Values["error_type"] != "System.Management.Automation.ItemNotFoundException" {
				t.Errorf("missing path: %#v", obs[3].Values)
			}
			if e := obs[4].Values["error"].(string); e != "Unité d'organisation introuvable : OU=Élèves,DC=tailab,DC=lan" {
				t.Errorf("throw: %q", e)
			}

			// A check that outlived its own timeout could not be observed.
			if obs[5].Err == nil || !strings.Contains(obs[5].Err.Error(), "timed out after 2s") || obs[5].Values != nil {
				t.Errorf("timeout check: %v %#v", obs[5].Err, obs[5].Values)
			}
			if obs[6].Err != nil || obs[6].Values["ok"] != true || obs[6].Values["value"] != nil {
				t.Errorf("no output: %v %#v", obs[6].Err, obs[6].Values)
			}
			if !strings.Contains(obs[0].Evidence, "PS> Get-CimInstance Win32_OperatingSystem |") ||
				!strings.Contains(obs[0].Evidence, `"BuildNumber":"22631"`) {
				t.Errorf("evidence: %s", obs[0].Evidence)
			}
			oneShellOneCommand(t, f.srv)
			if auth == wsman.AuthNTLM {
				if st := f.srv.Stats(); st.Handshakes != 1 {
					t.Errorf("%d NTLM handshakes, want 1 (one connection)", st.Handshakes)
				}
			}
			// The timeouts reach the machine: 2s for the one that set it, 30s by default.
			if got := f.ps.checks[5].Timeout; got != 2*time.Second {
				t.Errorf("timeout sent %v", got)
			}
			if got := f.ps.checks[0].Timeout; got != DefaultTimeout || f.ps.checks[0].Depth != DefaultDepth {
				t.Errorf("defaults sent %v depth %d", got, f.ps.checks[0].Depth)
			}
		})
	}
}

// Transport, authentication and deadline failures are errors for every check.
func TestRunErrors(t *testing.T) {
	wantAll := func(t *testing.T, obs []probe.Observation, err error, n int, contains string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), contains) {
			t.Fatalf("err = %v, want one containing %q", err, contains)
		}
		if len(obs) != n {
			t.Fatalf("%d observations, want %d", len(obs), n)
		}
		for _, o := range obs {
			if o.Err == nil || o.Values != nil {
				t.Fatalf("observation %s: %v %#v", o.ID, o.Err, o.Values)
			}
		}
	}

	t.Run("wrong password", func(t *testing.T) {
		for _, auth := range []wsman.Auth{wsman.AuthNTLM, wsman.AuthBasic} {
			f := newFixture(t, auth, nil)
			f.tgt.Credentials["winrm"] = probe.Credentials{User: testUser, Password: secret.New("Mauvais-mdp")}
			obs, err := f.probe.Run(context.Background(), f.tgt, reqs("'a'", "'b'"))
			wantAll(t, obs, err, 2, "401")
			if !errors.Is(err, ErrAuth) || strings.Contains(err.Error(), "Mauvais-mdp") {
				t.Fatalf("err = %v", err)
			}
			if st := f.srv.Stats(); st.Shells != 0 || st.AuthFailures == 0 {
				t.Fatalf("stats %+v", st)
			}
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		f := newFixture(t, wsman.AuthNTLM, nil)
		f.tgt.Credentials = nil
		obs, err := f.probe.Run(context.Background(), f.tgt, reqs("'a'"))
		wantAll(t, obs, err, 1, "no WinRM credentials")
	})

	t.Run("server down", func(t *testing.T) {
		f := newFixture(t, wsman.AuthNTLM, nil)
		f.srv.Close()
		obs, err := f.probe.Run(context.Background(), f.tgt, reqs("'a'", "'b'", "'c'"))
		wantAll(t, obs, err, 3, "connection refused")
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		f := newFixture(t, wsman.AuthNTLM, nil)
		f.probe.CACert = nil
		obs, err := f.probe.Run(context.Background(), f.tgt, reqs("'a'"))
		wantAll(t, obs, err, 1, "certificate")
		f.probe.Insecure = true // lab self-signed certificates, opt-in
		if obs := f.run(t, context.Background(), reqs("'a'")); obs[0].Err != nil {
			t.Fatal(obs[0].Err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		f := newFixture(t, wsman.AuthNTLM, func(ps *fakePS, cfg *wsman.Config) {
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
		obs, err := f.probe.Run(ctx, f.tgt, reqs("'a'", "'b'"))
		wantAll(t, obs, err, 2, "deadline exceeded")
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Run took %v past a 700ms deadline", d)
		}
		// The shell was still deleted on the machine.
		if st := f.srv.Stats(); st.OpenShells != 0 || st.Signals != 1 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("slow command within the deadline", func(t *testing.T) {
		f := newFixture(t, wsman.AuthNTLM, func(ps *fakePS, cfg *wsman.Config) {
			ps.delay = 1500 * time.Millisecond
			cfg.MaxOperationTimeout = 300 * time.Millisecond // Receive answers w:TimedOut meanwhile
		})
		obs := f.run(t, context.Background(), reqs("'lent'"))
		if obs[0].Err != nil || obs[0].Values["value"] != "lent" {
			t.Fatalf("%v %#v", obs[0].Err, obs[0].Values)
		}
		if st := f.srv.Stats(); st.Faults < 2 {
			t.Fatalf("expected w:TimedOut faults while waiting: %+v", st)
		}
	})
}

func TestCLIXMLStderr(t *testing.T) {
	stderr := wsman.CLIXML("Au caractère Ligne:3 : 1\r\n+ }\r\n+ ~\r\nJeton inattendu « } » dans l'expression ou l'instruction.")
	f := newFixture(t, wsman.AuthNTLM, func(ps *fakePS, _ *wsman.Config) {
		ps.noDoc, ps.stderr = true, stderr
	})
	obs, err := f.probe.Run(context.Background(), f.tgt, reqs("'a'"))
	if err == nil || obs[0].Err == nil {
		t.Fatal("no error without a result document")
	}
	msg := err.Error()
	for _, want := range []string{"no result document", "exited with code 1", "Jeton inattendu « } » dans l'expression", "Ligne:3 : 1\n+ }"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "CLIXML") || strings.Contains(msg, "_x000D_") || strings.Contains(msg, "Preparing modules") {
		t.Errorf("CLIXML left in %q", msg)
	}

	// Stderr next to a document goes to the evidence, decoded.
	f = newFixture(t, wsman.AuthNTLM, func(ps *fakePS, _ *wsman.Config) {
		ps.stderr = wsman.CLIXML("AVERTISSEMENT : module obsolète")
	})
	obs = f.run(t, context.Background(), reqs("'a'"))
	if obs[0].Err != nil || !strings.Contains(obs[0].Evidence, "stderr: AVERTISSEMENT : module obsolète") {
		t.Fatalf("%v %q", obs[0].Err, obs[0].Evidence)
	}
}

func TestDecodeCLIXML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"", ""},
		{string(wsman.CLIXML("ligne 1\r\nligne 2")), "ligne 1\nligne 2"},
		{"#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Warning\">attention_x000D__x000A_</S><S S=\"Error\">tab_x0009_é_x000D__x000A_</S></Objs>",
			"WARNING: attention\ntab\té"},
		{"#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj S=\"progress\" RefId=\"0\"><MS><S N=\"x\">not an error</S></MS></Obj></Objs>", ""},
	} {
		if got := DecodeCLIXML(tc.in); got != tc.want {
			t.Errorf("DecodeCLIXML(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUTF8RoundTrip(t *testing.T) {
	f := newFixture(t, wsman.AuthNTLM, nil)
	rs := reqs("'Unité d''organisation « Élèves » à Besançon'")
	rs[0].ID = "ou_élèves"
	obs := f.run(t, context.Background(), rs)
	if got := obs[0].Values["value"]; got != "Unité d'organisation « Élèves » à Besançon" {
		t.Fatalf("value %q", got)
	}
	if got := f.ps.checks[0]; got.ID != "ou_élèves" || !strings.Contains(got.Script, "« Élèves » à") {
		t.Fatalf("the machine got %+v", got)
	}
}

// A script far beyond -EncodedCommand's reach travels on stdin.
func TestLongScript(t *testing.T) {
	f := newFixture(t, wsman.AuthNTLM, nil)
	var b strings.Builder
	b.WriteString("$groupes = @(\n")
	for i := 0; b.Len() < 12000; i++ {
		fmt.Fprintf(&b, "  'GG_Service_%03d_Comptabilité'\n", i)
	}
	b.WriteString(")\n$groupes.Count")
	script := b.String()
	f.probe.EnvelopeSize = 20000 // several Send requests
	obs := f.run(t, context.Background(), reqs(script))
	if obs[0].Err != nil || obs[0].Values["value"] != int64(len(script)) {
		t.Fatalf("%v %#v", obs[0].Err, obs[0].Values)
	}
	if f.ps.checks[0].Script != script {
		t.Fatal("the script arrived altered")
	}
	st := f.srv.Stats()
	if st.Sends < 2 || st.StdinBytes < len(script) {
		t.Fatalf("stdin not used for the script: %+v", st)
	}
	oneShellOneCommand(t, f.srv)
}

func TestFiftyChecksOneShellOneCommand(t *testing.T) {
	f := newFixture(t, wsman.AuthNTLM, nil)
	var scripts []string
	for i := 0; i < 50; i++ {
		scripts = append(scripts, fmt.Sprintf("'valeur n°%d'", i))
	}
	obs := f.run(t, context.Background(), reqs(scripts...))
	for i, o := range obs {
		if o.Err != nil || o.Values["value"] != fmt.Sprintf("valeur n°%d", i) {
			t.Fatalf("check %d: %v %#v", i, o.Err, o.Values)
		}
	}
	oneShellOneCommand(t, f.srv)
	st := f.srv.Stats()
	if st.Handshakes != 1 || st.Requests > 8 {
		t.Fatalf("want one NTLM handshake and a handful of requests: %+v", st)
	}
	if len(f.ps.programs) != 1 || len(f.ps.checks) != 50 {
		t.Fatalf("%d programs, %d checks", len(f.ps.programs), len(f.ps.checks))
	}
}

func TestSecretsMasked(t *testing.T) {
	f := newFixture(t, wsman.AuthNTLM, func(ps *fakePS, _ *wsman.Config) {
		ps.answer = func(c fakeCheck) string {
			if strings.Contains(c.Script, "throw") {
				return `{"ok":false,"error":"Échec de connexion pour Administrateur avec Ex@men-2024!é","error_type":"System.Exception"}`
			}
			return `{"ok":true,"value":{"password":"Ex@men-2024!é","jury":"S3cr3t-Jury"}}`
		}
	})
	obs := f.run(t, context.Background(), reqs(
		"$p = ConvertTo-SecureString 'Ex@men-2024!é' -AsPlainText -Force; @{ password = 'Ex@men-2024!é'; jury = 'S3cr3t-Jury' }",
		"throw 'x'",
	))
	for _, o := range obs {
		for _, s := range []string{testPass, "S3cr3t-Jury"} {
			if strings.Contains(o.Evidence, s) || strings.Contains(fmt.Sprint(o.Values["error"]), s) {
				t.Errorf("%s: secret %q in evidence %q / values %#v", o.ID, s, o.Evidence, o.Values)
			}
		}
		if !strings.Contains(o.Evidence, secret.Mask) {
			t.Errorf("%s: nothing masked: %q", o.ID, o.Evidence)
		}
	}
}

func TestCAFileAndDomainUser(t *testing.T) {
	f := newFixture(t, wsman.AuthNTLM, nil)
	ca := filepath.Join(t.TempDir(), "lab-ca.pem")
	if err := os.WriteFile(ca, f.srv.CACertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	f.probe.CACert, f.probe.CAFile = nil, ca
	f.tgt.Credentials["winrm"] = probe.Credentials{User: testUser, Domain: "TAILAB", Password: secret.New(testPass)}
	if obs := f.run(t, context.Background(), reqs("'ok'")); obs[0].Err != nil {
		t.Fatal(obs[0].Err)
	}
}

func TestEmptyBatch(t *testing.T) {
	obs, err := New().Run(context.Background(), probe.Target{}, nil)
	if err != nil || obs != nil {
		t.Fatalf("%v %v", obs, err)
	}
}

// Output larger than the envelope comes back over several Receive responses.
func TestLargeOutputSeveralReceives(t *testing.T) {
	big := strings.Repeat("Journal d'événements – ligne répétée. ", 2000) // ~80 KB
	f := newFixture(t, wsman.AuthNTLM, func(ps *fakePS, _ *wsman.Config) {
		ps.answer = func(c fakeCheck) string {
			v, _ := json.Marshal(big)
			return `{"ok":true,"value":` + string(v) + `}`
		}
	})
	f.probe.EnvelopeSize = 20000
	obs := f.run(t, context.Background(), reqs("Get-WinEvent -LogName System -MaxEvents 500 | Out-String", "'b'"))
	for _, o := range obs {
		if o.Err != nil || o.Values["value"] != big {
			t.Fatalf("%s: %v, %d bytes", o.ID, o.Err, len(fmt.Sprint(o.Values["value"])))
		}
	}
	if st := f.srv.Stats(); st.Receives < 5 {
		t.Fatalf("output not split: %+v", st)
	}
	oneShellOneCommand(t, f.srv)
}
