package exam

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// TestRescueConfirm walks the decision of `down --candidate` and `reset`
// across terminal, --yes, --force and the exam window: each refusal is a
// usage error naming what unlocks it, and the prompt says what is lost.
func TestRescueConfirm(t *testing.T) {
	src, err := labs.BuiltinSource("tpe-local")
	if err != nil {
		t.Fatal(err)
	}
	sess := &provision.Session{Name: "juin", Lab: "tpe-local", LabYAML: string(src)}
	lab, err := sess.LoadLab()
	if err != nil {
		t.Fatal(err)
	}
	all := lab.Machines[0].Name
	for _, m := range lab.Machines[1:] {
		all += ", " + m.Name
	}
	one := []string{"c01"}
	for _, tc := range []struct {
		name    string
		r       Rescue
		answer  string
		refused string // "" = goes ahead; else a word of the refusal
		asked   string // "" = no prompt; else a word of the prompt
	}{
		{"terminal, yes", Rescue{Action: "reset", Candidates: one, Terminal: true}, "y\n", "", "(" + all + ")"},
		{"terminal, YES typed", Rescue{Action: "down", Candidates: one, Terminal: true}, "Yes\n", "", "removed with everything"},
		{"terminal, enter", Rescue{Action: "reset", Candidates: one, Terminal: true}, "\n", "not confirmed", "Proceed? [y/N]"},
		{"terminal, no", Rescue{Action: "down", Candidates: one, Terminal: true}, "n\n", "not confirmed", "candidate c01's machines"},
		{"terminal, end of input", Rescue{Action: "reset", Candidates: one, Terminal: true}, "", "not confirmed", "Proceed"},
		{"terminal, one machine", Rescue{Action: "reset", Candidates: one, Machine: "srv", Terminal: true}, "y\n", "", "candidate c01's machine srv in session juin"},
		{"terminal, --yes", Rescue{Action: "reset", Candidates: one, Terminal: true, Yes: true}, "", "", ""},
		{"script, no --yes", Rescue{Action: "down", Candidates: []string{"c01", "c02"}}, "y\n", "--yes", ""},
		{"script, --yes", Rescue{Action: "reset", Candidates: one, Yes: true}, "", "", ""},
		{"window open", Rescue{Action: "reset", Candidates: one, Yes: true, WindowOpen: true, Window: "opens 2026-06-12 08:00:00"}, "", "exam window is open (opens 2026-06-12 08:00:00)", ""},
		{"window open, terminal: not asked", Rescue{Action: "down", Candidates: one, Terminal: true, WindowOpen: true}, "y\n", "--force", ""},
		{"window open, --force, --yes", Rescue{Action: "down", Candidates: one, Yes: true, Force: true, WindowOpen: true}, "", "", ""},
		{"window open, --force, terminal", Rescue{Action: "reset", Candidates: one, Force: true, Terminal: true, WindowOpen: true}, "n\n", "not confirmed", "Proceed"},
		{"window open, --force, script", Rescue{Action: "reset", Candidates: one, Force: true, WindowOpen: true}, "", "--yes", ""},
		{"whole session, script", Rescue{Action: "down"}, "", "", ""},
		{"whole session, window open", Rescue{Action: "down", WindowOpen: true}, "", "session close", ""},
		{"whole session, window open, --force", Rescue{Action: "down", Force: true, WindowOpen: true}, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Session = sess
			var out bytes.Buffer
			err := tc.r.Confirm(strings.NewReader(tc.answer), &out)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused) || errclass.Of(err) != errclass.Usage):
				t.Errorf("got %v (class %v), want a usage error with %q", err, errclass.Of(err), tc.refused)
			}
			if tc.asked == "" && out.Len() > 0 || !strings.Contains(out.String(), tc.asked) {
				t.Errorf("prompt %q, want %q", out.String(), tc.asked)
			}
		})
	}
}
