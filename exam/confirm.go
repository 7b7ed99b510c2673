package exam

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// Rescue is an admin command that loses a candidate's work (`down
// --candidate`, `reset`) or the whole session's (`down`): what it touches,
// the admin's --yes/--force, and where the exam stands. Confirm decides
// before anything changes, so every refusal leaves the lab as it was.
type Rescue struct {
	Action     string // "down" or "reset"
	Session    *provision.Session
	Candidates []string // empty: the whole session (down only)
	Machine    string   // reset --machine ("" = all of the candidate's)
	Yes        bool     // --yes: do not ask
	Force      bool     // --force: act even while the exam window is open
	Terminal   bool     // stdin is a terminal: the admin can be asked
	WindowOpen bool     // the exam window is open now
	Window     string   // the window as the admin reads it (session status)
}

// Confirm refuses while the exam window is open (unless Force), and for a
// candidate's machines asks y/N on a terminal (unless Yes) or refuses
// without one: a script must say --yes. A whole-session down is the end of
// an exam and is not asked, only held back by the window. Every refusal is a
// usage error.
func (r Rescue) Confirm(in io.Reader, out io.Writer) error {
	if r.WindowOpen && !r.Force {
		return errclass.Usagef("session %s: the exam window is open (%s): %s now would take the candidates' work away mid-exam; close it (tailab session close) or pass --force", r.Session.Name, r.Window, r.Action)
	}
	if len(r.Candidates) == 0 || r.Yes {
		return nil
	}
	if !r.Terminal {
		return errclass.Usagef("%s loses %s: pass --yes to confirm without a terminal", r.Action, r.target())
	}
	fmt.Fprintf(out, "%s: %s.\nProceed? [y/N] ", r.Action, r.loss())
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errclass.Usagef("%s not confirmed: nothing changed", r.Action)
}

// target names whose work is lost ("candidate c01's machine srv").
func (r Rescue) target() string {
	who := "candidate " + strings.Join(r.Candidates, ", ")
	if len(r.Candidates) > 1 {
		who = "candidates " + strings.Join(r.Candidates, ", ")
	}
	if r.Machine != "" {
		return who + "'s machine " + r.Machine
	}
	return who + "'s machines"
}

// loss says what the admin is about to lose, machine by machine.
func (r Rescue) loss() string {
	machines := ""
	if r.Machine == "" {
		if lab, err := r.Session.LoadLab(); err == nil {
			names := make([]string, 0, len(lab.Machines))
			for _, m := range lab.Machines {
				names = append(names, m.Name)
			}
			machines = " (" + strings.Join(names, ", ") + ")"
		}
	}
	what := "every change the candidate made on them since `up` is lost (snapshots of VMs too)"
	if r.Action == "down" {
		what = "they are removed with everything the candidate did on them"
	}
	return fmt.Sprintf("%s%s in session %s: %s", r.target(), machines, r.Session.Name, what)
}

// EachCandidate runs fn for every candidate in the order given, going on after
// a failure (one candidate's broken machine must not leave the others
// unrescued: reset, snapshot with -c repeated); the failures are joined, each
// naming its candidate when there are several (one candidate's message stays
// as it was), their classes kept.
func EachCandidate(candidates []string, fn func(candidate string) error) error {
	var errs []error
	for _, c := range candidates {
		if err := fn(c); err != nil {
			if len(candidates) > 1 {
				err = fmt.Errorf("%s: %w", c, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
