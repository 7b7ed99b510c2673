package catalogtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	xssh "golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/labs"
)

// The OpenWrt commands the suites run, played from a recorded router state
// (testdata/openwrt/STATE, rendered with the candidate's parameters): `uci [-q]
// show [CONFIG[.SECTION]]` prints the lines of uci/CONFIG for that prefix, as
// uci does; `uci changes` prints uci-changes; `ubus call network.interface.X
// status` prints ubus/X.json (an empty or missing file: "Not found", exit 4);
// `nslookup` prints nslookup (exit status in nslookup.rc); awk reads the state's
// shadow in place of /etc/shadow. Everything else is the host's.
const fakeUCI = `#!/bin/sh
S=$TAILAB_OPENWRT_STATE
q=; [ "$1" = -q ] && { q=1; shift; }
notfound() { [ -n "$q" ] || echo "uci: Entry not found" >&2; exit 1; }
case "$1" in
show)
	[ -n "$2" ] || { cat "$S"/uci/*; exit 0; }
	f="$S/uci/${2%%.*}"
	[ -s "$f" ] || notfound
	re=$(printf '%s' "$2" | sed 's/[].[*^$\\]/\\&/g')
	grep -E "^$re([.=]|\$)" "$f" || notfound ;;
changes)
	cat "$S/uci-changes" 2>/dev/null ;;
*)
	echo "fake uci: $*" >&2; exit 2 ;;
esac
`

const fakeUbus = `#!/bin/sh
S=$TAILAB_OPENWRT_STATE
[ "$1" = call ] && [ "$3" = status ] || { echo "fake ubus: $*" >&2; exit 2; }
f="$S/ubus/${2#network.interface.}.json"
[ -s "$f" ] || { echo "Command failed: Not found" >&2; exit 4; }
cat "$f"
`

const fakeNslookup = `#!/bin/sh
S=$TAILAB_OPENWRT_STATE
cat "$S/nslookup"
exit $(cat "$S/nslookup.rc" 2>/dev/null || echo 0)
`

// fakeAwk runs the real awk (%s), on the state's shadow in place of /etc/shadow.
const fakeAwk = `#!/bin/sh
for a; do
	shift
	if [ "$a" = /etc/shadow ]; then set -- "$@" "$TAILAB_OPENWRT_STATE/shadow"; else set -- "$@" "$a"; fi
done
exec %s "$@"
`

// openwrtRouter is a real sshd whose commands see a recorded OpenWrt state.
type openwrtRouter struct {
	srv   *sshd.Server
	state string // the directory the fake commands read
	key   []byte // the grader's private key (PEM)
}

func startOpenWrt(t *testing.T) *openwrtRouter {
	t.Helper()
	testenv.RequireIsolatedNetwork(t)
	awk, err := exec.LookPath("awk")
	if err != nil {
		testenv.Unavailable(t, "awk not found")
	}
	dir := t.TempDir()
	bin, state := filepath.Join(dir, "bin"), filepath.Join(dir, "state")
	for _, d := range []string{bin, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{"uci": fakeUCI, "ubus": fakeUbus, "nslookup": fakeNslookup,
		"awk": strings.Replace(fakeAwk, "%s", awk, 1)} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrap := filepath.Join(dir, "openwrt.sh")
	script := "#!/bin/sh\nexport PATH=" + bin + ":$PATH\nexport TAILAB_OPENWRT_STATE=" + state + "\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n"
	if err := os.WriteFile(wrap, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := xssh.MarshalPrivateKey(priv, "tailab grader")
	if err != nil {
		t.Fatal(err)
	}
	srv := sshd.Start(t, sshd.Options{AuthorizedKeys: []xssh.PublicKey{sshPub}, Extra: []string{"ForceCommand " + wrap}})
	return &openwrtRouter{srv: srv, state: state, key: pem.EncodeToMemory(block)}
}

// load writes testdata/openwrt/NAME (after the state it inherits from),
// rendered for the candidate, as the router's current state.
func (r *openwrtRouter) load(t *testing.T, name string, data payloadData) {
	t.Helper()
	if err := os.RemoveAll(r.state); err != nil {
		t.Fatal(err)
	}
	var chain []string
	for n := name; n != ""; {
		chain = append([]string{n}, chain...)
		b, err := os.ReadFile(filepath.Join("testdata", "openwrt", n, "inherits"))
		if err != nil {
			break
		}
		n = strings.TrimSpace(string(b))
	}
	for _, n := range chain {
		root := filepath.Join("testdata", "openwrt", n)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() == "inherits" {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			text, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			tpl, err := template.New(path).Option("missingkey=error").Parse(string(text))
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := tpl.Execute(&b, data); err != nil {
				return err
			}
			dst := filepath.Join(r.state, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, b.Bytes(), 0o644)
		})
		if err != nil {
			t.Fatalf("state %s: %v", name, err)
		}
	}
}

// TestOpenWrtChecks grades the OpenWrt checks of the real-exam labs over SSH,
// against a router in each recorded state: as shipped (untouched), configured by
// the reference solution, configured but not committed, committed but not
// applied, configured with mistakes, and a box whose DNS is down.
func TestOpenWrtChecks(t *testing.T) {
	r := startOpenWrt(t)
	listen(t, 22) // the routers' tcp guard
	pass, fail, skip := checks.StatusPass, checks.StatusFail, checks.StatusSkip
	all := func(s checks.Status, except map[string]checks.Status) func(string) checks.Status {
		return func(id string) checks.Status {
			if st, ok := except[id]; ok {
				return st
			}
			return s
		}
	}
	tests := []struct {
		lab, state string
		want       func(id string) checks.Status // by check id
	}{
		{"ccp2-infra", "untouched", all(fail, map[string]checks.Status{"rt-ssh": pass, "rt-enregistre": skip})},
		{"ccp2-infra", "solved", all(pass, nil)},
		{"ccp2-infra", "non-enregistre", all(pass, map[string]checks.Status{"rt-enregistre": fail})},
		{"ccp2-infra", "non-applique", all(pass, map[string]checks.Status{"rt-enregistre": fail})},
		{"ccp2-infra", "erreurs", all(pass, map[string]checks.Status{"rt-pare-feu": fail, "rt-wifi": fail, "rt-dhcp-invites": fail})},
		{"ccp2-infra", "mot-de-passe-verrouille", all(pass, map[string]checks.Status{"rt-mot-de-passe": fail})},
		{"ccp3-support", "untouched", all(pass, nil)}, // the box as shipped: no solution step touches it
		{"ccp3-support", "box-panne", all(fail, nil)},
	}
	seen := map[string]map[checks.Status]bool{}
	for _, tc := range tests {
		t.Run(tc.lab+"/"+tc.state, func(t *testing.T) {
			f := loadLab(t, tc.lab)
			r.load(t, tc.state, newPayloadData(f.inst.Params))
			targets := map[string]probe.Target{}
			for _, m := range f.inst.Machines {
				tg := probe.Target{Session: sessionID, Candidate: testCandidate.ID, Machine: m.Name, Address: "127.0.0.1"}
				if m.OS == labs.OSNetwork {
					user := m.Credentials["ssh"].User
					tg.Ports = map[string]int{"ssh": r.srv.Port}
					tg.Credentials = map[string]probe.Credentials{"ssh": {User: user, PrivateKey: secret.New(string(r.key))}}
				} else {
					tg.Ports = map[string]int{"winrm": 1} // nothing answers: the Windows checks err, not graded here
				}
				targets[m.Name] = tg
			}
			runner := &checks.Runner{Registry: probe.NewRegistry(ssh.New(), tcp.New(), winrm.New())}
			rep, err := runner.Run(context.Background(), checks.Session{ID: sessionID, Lab: tc.lab, StartedAt: startedAt}, f.suites,
				[]checks.Candidate{{ID: testCandidate.ID, Params: f.inst.Params, Machines: targets}})
			if err != nil {
				t.Fatal(err)
			}
			res := results(t, rep)
			n := 0
			for _, s := range f.suites {
				for _, c := range s.Checks {
					if oses := osOf(f.inst, c.Machine); oses != labs.OSNetwork {
						continue
					}
					n++
					got := res[s.Name+"/"+c.ID]
					if want := tc.want(c.ID); got.Status != want {
						t.Errorf("%s: want %s, got %s", c.ID, want, explain(got))
					}
					if seen[c.ID] == nil {
						seen[c.ID] = map[checks.Status]bool{}
					}
					seen[c.ID][got.Status] = true
				}
			}
			if n == 0 {
				t.Fatal("no OpenWrt check in the lab's suites")
			}
		})
	}
	// Both ways: every OpenWrt check was seen passing and failing.
	for id, st := range seen {
		if !st[pass] || !st[fail] && id != "rt-ssh" {
			t.Errorf("%s was not seen both passing and failing: %v", id, st)
		}
	}
	t.Logf("%d OpenWrt checks graded in %d router states, every one seen passing and failing (rt-ssh: the tcp guard)", len(seen), len(tests))
}

func osOf(in *labs.Instance, machine string) string {
	if m, ok := in.Machine(machine); ok {
		return m.OS
	}
	return ""
}
