package provision

import (
	"testing"
)

func TestSecretsAreStableAndMasked(t *testing.T) {
	st, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess := &Session{Name: "s1", LabSource: "t.yaml", LabYAML: `name: l
secrets: {pw: {generate: true}, key: {ssh_key: true}}
networks: [{name: lan, cidr: 10.0.0.0/24}]
machines: [{name: a, role: client, kind: container, os: linux, nics: [{network: lan}]}]
`}
	lab, err := sess.LoadLab()
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.Secrets("s1", lab, "c01")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := st.Secrets("s1", lab, "c01")
	c, _ := st.Secrets("s1", lab, "c02")
	if a["pw"].Reveal() != b["pw"].Reveal() || a["key"].Reveal() != b["key"].Reveal() {
		t.Error("secrets change between calls")
	}
	if a["pw"].Reveal() == c["pw"].Reveal() {
		t.Error("two candidates share a generated password")
	}
	if len(a["pw"].Reveal()) != 16 || a["pw"].String() != "****" {
		t.Errorf("password %d chars, prints as %q", len(a["pw"].Reveal()), a["pw"].String())
	}
	if _, err := PublicKey(a["key"]); err != nil {
		t.Errorf("generated ssh key does not parse: %v", err)
	}
}
