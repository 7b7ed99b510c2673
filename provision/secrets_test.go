package provision

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/secret"
)

// TestSecretSources: each source a lab may declare for a secret (value, env,
// generate with or without a length, ssh_key) and the console password of a
// lab with VMs, read for two candidates and twice for the first.
func TestSecretSources(t *testing.T) {
	t.Setenv("TAILAB_TEST_SECRET", "depuis-env-42")
	const machines = `networks: [{name: lan, cidr: 10.0.0.0/24}]
machines: [{name: a, role: client, kind: container, os: linux, nics: [{network: lan}]}]
`
	const vm = `networks: [{name: lan, cidr: 10.0.0.0/24}]
machines: [{name: a, role: client, kind: vm, os: linux, image: deb, nics: [{network: lan}]}]
`
	for _, tc := range []struct {
		name     string
		secrets  string // the lab's secrets: block
		body     string
		key      string
		check    func(t *testing.T, v string)
		sameForC bool // both candidates get the same value
		wantErr  string
	}{
		{name: "value", secrets: `{s: {value: "Fixe&Mdp-1"}}`, body: machines, key: "s", sameForC: true,
			check: func(t *testing.T, c01 string) { wantEq(t, c01, "Fixe&Mdp-1") }},
		{name: "env", secrets: `{s: {env: TAILAB_TEST_SECRET}}`, body: machines, key: "s", sameForC: true,
			check: func(t *testing.T, c01 string) { wantEq(t, c01, "depuis-env-42") }},
		{name: "env not set", secrets: `{s: {env: TAILAB_TEST_SECRET_UNSET}}`, body: machines,
			wantErr: `secret "s": environment variable TAILAB_TEST_SECRET_UNSET is not set`},
		{name: "generate", secrets: `{s: {generate: true}}`, body: machines, key: "s", check: windowsComplex(16)},
		{name: "generate length", secrets: `{s: {generate: true, length: 40}}`, body: machines, key: "s", check: windowsComplex(40)},
		{name: "ssh key", secrets: `{s: {ssh_key: true}}`, body: machines, key: "s",
			check: func(t *testing.T, c01 string) {
				if pub, err := PublicKey(secret.New(c01)); err != nil || !strings.HasPrefix(pub, "ssh-ed25519 ") {
					t.Errorf("public key %q, %v", pub, err)
				}
			}},
		{name: "console password", secrets: `{s: {value: x-unused}}`, body: vm, key: ConsoleSecret,
			check: func(t *testing.T, c01 string) {
				if len(c01) != 8 || strings.Trim(c01, secret.Unambiguous) != "" {
					t.Errorf("console password %q: want 8 characters of secret.Unambiguous", c01)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := OpenState(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			sess := &Session{Name: "s1", LabSource: "t.yaml", LabYAML: "name: l\nsecrets: " + tc.secrets + "\n" + tc.body}
			lab, err := sess.LoadLab()
			if err != nil {
				t.Fatal(err)
			}
			a, err := st.Secrets("s1", lab, "c01")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, _ := st.Secrets("s1", lab, "c01")
			other, _ := st.Secrets("s1", lab, "c02")
			c01, c02 := a[tc.key].Reveal(), other[tc.key].Reveal()
			if c01 == "" || again[tc.key].Reveal() != c01 {
				t.Errorf("c01's secret %q is empty or changes between reads", c01)
			}
			if (c01 == c02) != tc.sameForC {
				t.Errorf("c01 %q, c02 %q: same for both candidates = %v, want %v", c01, c02, c01 == c02, tc.sameForC)
			}
			if a[tc.key].String() != secret.Mask {
				t.Errorf("prints as %q", a[tc.key].String())
			}
			tc.check(t, c01)
		})
	}
}

func wantEq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// windowsComplex checks a generated password: n characters, with an upper-
// and a lower-case letter, a digit and a symbol (Windows' complexity rule).
func windowsComplex(n int) func(t *testing.T, v string) {
	return func(t *testing.T, c01 string) {
		if len(c01) != n {
			t.Errorf("%d characters, want %d", len(c01), n)
		}
		for _, class := range []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "-_.+"} {
			if !strings.ContainsAny(c01, class) {
				t.Errorf("%d-character password lacks one of %q", len(c01), class)
			}
		}
	}
}
