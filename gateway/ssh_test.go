package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerNotContained proves the hard rule: without the test hook, no
// shell opens in a container that is not in a user namespace; the candidate
// reads why in French and the audit log says why for the admin.
func TestContainerNotContained(t *testing.T) {
	l := startLab(t)
	l.open(t)
	out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname")
	if code == 0 || strings.Contains(out, "srv-c01") {
		t.Fatalf("a shell opened in an uncontained container: code %d, out %q", code, out)
	}
	if !strings.Contains(errOut, "prévenez le surveillant") {
		t.Errorf("no French message to the candidate: %q", errOut)
	}
	if log := l.auditLog(t); !hasLine(log, "terminal c01", "not contained") {
		t.Errorf("audit log has no clear refusal:\n%s", strings.Join(log, "\n"))
	}
	// the same machine recorded as contained (its root maps to host uid
	// 200000, as `up --rootfs built` records it) gets a shell, without the hook
	ms, err := l.st.Machines("s1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Candidate == "c01" && m.Machine == "srv" {
			m.UIDBase = 200000
			if err := l.st.PutMachine(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname"); code != 0 || out != "srv-c01\n" {
		t.Errorf("a contained container: code %d, out %q, stderr %q", code, out, errOut)
	}
}

func allowUncontained(t *testing.T) {
	skipContainment.Store(true)
	t.Cleanup(func() { skipContainment.Store(false) })
}

// TestSSH runs OpenSSH's client against the gateway: the candidate's own
// machine, commands and exit status, stdin, forwards only where the lab says,
// and refusals of everything else, all audited.
func TestSSH(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	c01 := l.passwords["c01"]

	// Outside the window: refused, in French.
	if _, errOut, code := l.ssh(t, "c01+srv", c01, "", "hostname"); code != 255 || !strings.Contains(errOut, "pas encore ouvert") {
		t.Errorf("login before the opening: code %d, stderr %q", code, errOut)
	}
	l.open(t)

	tests := []struct {
		name, user, password, stdin string
		args                        []string
		wantOut, wantErr            string
		wantCode                    int
	}{
		{"hostname", "c01+srv", c01, "", []string{"hostname"}, "srv-c01\n", "", 0},
		{"exit status", "c01+srv", c01, "", []string{"echo out; echo err >&2; exit 7"}, "out\n", "err", 7},
		{"stdin", "c01+srv", c01, strings.Repeat("x", 10<<20), []string{"wc -c"}, "10485760\n", "", 0},
		{"as root", "c01+srv", c01, "", []string{"id -un"}, "root\n", "", 0},
		{"wrong password", "c01+srv", "nope", "", []string{"hostname"}, "", "Identifiant ou mot de passe incorrect", 255},
		{"unknown login", "c99+srv", c01, "", []string{"hostname"}, "", "Identifiant ou mot de passe incorrect", 255},
		{"other candidate's login", "c02+srv", c01, "", []string{"hostname"}, "", "Identifiant ou mot de passe incorrect", 255},
		{"unknown machine", "c01+nope", c01, "", []string{"hostname"}, "", "pas de machine « nope »", 1},
		{"machine not started", "c01+pc1", c01, "", []string{"hostname"}, "", "n'est pas démarrée", 1},
		{"command without machine", "c01", c01, "", []string{"hostname"}, "", "Indiquez la machine", 1},
		{"own declared port", "c01", c01, "", []string{"-W", "10.40.1.10:80", ""}, "web of c01\n", "", 0},
		{"own port not declared", "c01", c01, "", []string{"-W", "10.40.1.10:22", ""}, "", "prohibited", 255},
		{"other candidate's address", "c01", c01, "", []string{"-W", mgmt["c02"] + ":80", ""}, "", "prohibited", 255},
		{"host port", "c01", c01, "", []string{"-W", l.sshAddr, ""}, "", "prohibited", 255},
		{"jump to other candidate", "c01", c01, "", []string{"-o", "ProxyCommand=none", "-J", "c01@" + l.sshAddr, "-o", "ConnectTimeout=5", "hostname"}, "", "", 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := l.ssh(t, tt.user, tt.password, tt.stdin, tt.args...)
			if code != tt.wantCode || out != tt.wantOut || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("code %d (want %d), stdout %q (want %q), stderr %q (want %q)", code, tt.wantCode, out, tt.wantOut, errOut, tt.wantErr)
			}
		})
	}

	log := l.auditLog(t)
	for _, want := range [][]string{
		{"c01 login c01", "ssh from 127.0.0.1: refused: the exam is not open"},
		{"c01 login c01", "accepted"},
		{"c01 login c01", "wrong login or password"},
		{"c99 login", "unknown login"},
		{"c02 login c02", "refused"},
		{"c01 terminal c01 srv", "exec hostname"},
		{"c01 terminal c01 srv", "ended (status 7)"},
		{"c01 forward c01 srv", "to 10.40.1.10:80"},
		{"c01 forward c01", "10.40.1.10:22 refused"},
		{"c01 forward c01", mgmt["c02"] + ":80 refused"},
	} {
		if !hasLine(log, want...) {
			t.Errorf("audit log has no line with %q", want)
		}
	}
	if t.Failed() {
		t.Logf("audit log:\n%s", strings.Join(log, "\n"))
	}
}

// TestWindowClose proves a live terminal is warned at the close, then closed
// after the grace period, and that logins are refused from then on.
func TestWindowClose(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	type result struct {
		errOut string
		code   int
		took   time.Duration
	}
	done := make(chan result)
	go func() {
		start := time.Now()
		_, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "sleep 30")
		done <- result{errOut, code, time.Since(start)}
	}()
	time.Sleep(1500 * time.Millisecond)
	if _, err := CloseWindow(l.store, "s1", time.Now()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if !strings.Contains(r.errOut, "L'examen est terminé") || r.took > 10*time.Second {
		t.Errorf("at the close: stderr %q, code %d, after %s", r.errOut, r.code, r.took)
	}
	if _, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname"); code != 255 || !strings.Contains(errOut, "L'examen est terminé") {
		t.Errorf("login after the close: code %d, stderr %q", code, errOut)
	}
}

// TestRecording proves a terminal session is recorded as asciicast v2 with
// what the machine printed, and never the password.
func TestRecording(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	out, _, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "-tt", "echo enregistré; hostname")
	if code != 0 || !strings.Contains(out, "srv-c01") {
		t.Fatalf("code %d, out %q", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(l.dataDir, "recordings", "c01", "srv-*.cast"))
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	cast := string(b)
	if !strings.HasPrefix(cast, `{"version":2,`) || !strings.Contains(cast, `"o","enregistré`) || !strings.Contains(cast, "srv-c01") {
		t.Errorf("recording:\n%s", cast)
	}
	if strings.Contains(cast, l.passwords["c01"]) {
		t.Error("the recording holds the candidate's password")
	}
}

// TestPinnedHostKey proves the gateway talks only to the machine whose host
// key `up` pinned: c01's srv recorded with another key is refused (French to
// the candidate, both fingerprints in the audit log).
func TestPinnedHostKey(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	ms, err := l.st.Machines("s1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Candidate == "c01" && m.Machine == "srv" {
			m.SSHHostKey = l.hostKeys["c02"]
			if err := l.st.PutMachine(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname")
	if code == 0 || out != "" || !strings.Contains(errOut, "ne répond pas") {
		t.Errorf("a machine with another host key: code %d, out %q, stderr %q", code, out, errOut)
	}
	if log := l.auditLog(t); !hasLine(log, "terminal c01 srv", "host key mismatch", l.hostKeys["c02"], l.hostKeys["c01"]) {
		t.Errorf("audit log:\n%s", strings.Join(log, "\n"))
	}
}
