package smb

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/yamlx"
)

func TestValidate(t *testing.T) {
	src := "share: 'srv/Compta'\nactions: [list, raed, read]\nport: 70000\n"
	node, diags := yamlx.Parse("suite.yaml", []byte(src))
	if diags != nil {
		t.Fatal(diags)
	}
	d := yamlx.NewDecoder("suite.yaml")
	var p Params
	d.Decode(node, &p, "probe")
	p.Validate(d, d.PosOf(node), "probe")
	got := d.Diags.Err().Error()
	for _, want := range []string{
		`suite.yaml:1:8: probe.share: share is a share name, not a path`,
		`suite.yaml:2:10: probe.actions: unknown action "raed" (did you mean "read"?)`,
		`suite.yaml:1:1: probe.file: action read needs the file to read`,
		`suite.yaml:3:7: probe.port: port 70000 out of range`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	d2 := yamlx.NewDecoder("x")
	(&Params{Share: "Compta"}).Validate(d2, yamlx.Pos{}, "")
	if len(d2.Diags) != 0 {
		t.Errorf("valid params rejected: %v", d2.Diags)
	}
}

func TestSplitUser(t *testing.T) {
	for _, c := range []struct{ in, dom, user, wantDom string }{
		{`LAB\alice`, "", "alice", "LAB"},
		{"alice@lab.local", "LAB", "alice@lab.local", ""},
		{"alice", "LAB", "alice", "LAB"},
	} {
		u, d := splitUser(c.in, c.dom)
		if u != c.user || d != c.wantDom {
			t.Errorf("splitUser(%q,%q) = %q,%q", c.in, c.dom, u, d)
		}
	}
}
