package provision

import (
	"strings"
	"testing"
)

func TestReadRoster(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []string // ids
		err       string
	}{
		{"header and commas", "id,nom,prénom\nA01,Dupont,Jeanne\na02,Martin,Luc\n", []string{"a01", "a02"}, ""},
		{"semicolons and BOM", "\ufeffid;nom;prénom\nc1;Durand;Zoé\n", []string{"c1"}, ""},
		{"no header", "c1,Durand,Zoé\n\nc2,Petit,Léa\n", []string{"c1", "c2"}, ""},
		{"bad columns", "id,nom,prénom\nc1,Durand\n", nil, "roster.csv:2: expected 3 columns"},
		{"bad id", "c 1,Durand,Zoé\n", nil, "roster.csv:1: candidate id"},
		{"duplicate", "c1,A,B\nc1,C,D\n", nil, "roster.csv:2: candidate id \"c1\" already used on line 1"},
		{"empty", "id,nom,prénom\n", nil, "no candidate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRoster("roster.csv", strings.NewReader(tt.csv))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, c := range got {
				ids = append(ids, c.ID)
				if c.Index != i+1 {
					t.Errorf("candidate %s has index %d, want %d", c.ID, c.Index, i+1)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ids %v, want %v", ids, tt.want)
			}
		})
	}
}

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
