package grade_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tailab/tailab/grade"
)

// TestRunChecksSuites: a suite naming a machine or an identity the
// candidates lack is refused before anything is observed, at its line and
// column; a secret never prints.
func TestRunChecksSuites(t *testing.T) {
	s, err := grade.ParseSuite("s.yaml", []byte(`name: s
checks:
  - {id: a, title: T, competence: C2.2, machine: dc, as: bob, probe: {type: smb, share: X}, expect: {can_list: true}}
  - {id: b, title: T, competence: C2.2, machine: srvv, probe: {type: ssh, command: "true"}, expect: {exit_code: 0}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := grade.NewSecret("S3cret-pw")
	cands := []grade.Candidate{{ID: "c01", Machines: map[string]grade.Machine{
		"dc":  {Address: "127.0.0.1", Identities: map[string]map[string]grade.Credentials{"smb": {"alice": {User: "alice", Password: pw}}}},
		"srv": {Address: "127.0.0.1"},
	}}}
	_, err = grade.Run(context.Background(), []*grade.Suite{s}, cands, grade.Options{})
	for _, want := range []string{
		`s.yaml:3:58: checks[0].as: machine "dc" has no smb identity named "bob" (valid: alice)`,
		`s.yaml:4:50: checks[1].machine: unknown machine "srvv" (did you mean "srv"?)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	}
	if got := pw.String() + " " + strings.Join(grade.Formats(), ","); got != "**** csv,html,json,junit,table,xlsx" {
		t.Errorf("got %q", got)
	}
}
