// Package audit types what an audit entry says. The code that acts fills the
// Facts; the jury's French (checks/report) is rendered from them, never parsed
// back from English, and the English line beside them (English, for the
// admins' `tailab audit`) is rendered from them too. Entries recorded before
// the Facts existed carry the English line alone: Legacy reads it.
package audit

import (
	"fmt"
	"strings"
	"time"
)

// Outcomes of an action.
const (
	Accepted = "accepted" // login
	Refused  = "refused"  // login, terminal, console, forward: Reason says why
	Failed   = "failed"   // any action: Reason says why, Elapsed after how long (when known)
	Opened   = "opened"   // terminal, console, forward, admin session; session: the exam window opened
	Ended    = "ended"    // terminal, admin session: Status is its exit status
	Closed   = "closed"   // console; session: the exam window closed; close: the candidate's session
)

// Kinds of terminal (the gateway's terminal and console, the admin's ssh and exec).
const (
	Shell     = "shell"     // an interactive shell
	Exec      = "exec"      // one command: Command
	Subsystem = "subsystem" // an SSH subsystem (sftp...): Command is its name
	Console   = "console"   // a VM's graphical console
)

// Facts are what an audit entry says, typed. Each action fills the fields its
// doc comment names; the zero value says nothing.
type Facts struct {
	Outcome string        `json:"outcome,omitempty"`
	Reason  string        `json:"reason,omitempty"`     // refused, failed: why (the error, in English)
	Elapsed time.Duration `json:"elapsed_ns,omitempty"` // failed: after how long
	Status  *int          `json:"status,omitempty"`     // ended: the exit status

	Door    string `json:"door,omitempty"`    // login, terminal, console: the gateway's door, ssh or web
	From    string `json:"from,omitempty"`    // login, terminal, console: the candidate's address
	Kind    string `json:"kind,omitempty"`    // terminal, console, ssh, exec: Shell, Exec, Subsystem, Console
	Command string `json:"command,omitempty"` // Exec: the command (masked, bounded); Subsystem: its name
	To      string `json:"to,omitempty"`      // forward: the destination asked for (host:port)

	Plan       *Plan     `json:"plan,omitempty"`       // up: the machines the plan touched
	Candidates []string  `json:"candidates,omitempty"` // down: the candidates removed (none: all of them)
	Op         string    `json:"op,omitempty"`         // snapshot: create or delete
	Snapshot   string    `json:"snapshot,omitempty"`   // snapshot, revert: the snapshot's name
	At         time.Time `json:"at,omitzero"`          // session: when the exam window opened or closed
	Grace      string    `json:"grace,omitempty"`      // close: the time the warned candidate had to save (a Go duration)

	Following string   `json:"following,omitempty"` // faults-kept: the admin action (reset, snapshot create, down+up, replace...)
	Machines  []string `json:"machines,omitempty"`  // faults-kept after replace: the machines replaced
	Faults    []Fault  `json:"faults,omitempty"`    // faults-kept: each drawn fault's fate
}

// Plan counts the machines of an up's plan.
type Plan struct {
	Create  int `json:"create"`
	Keep    int `json:"keep"`
	Replace int `json:"replace"`
	Remove  int `json:"remove"`
}

// Fault is what an admin action did to one drawn fault: whether the candidate
// had repaired it before (Repaired), whether tailab put it back (Reapplied),
// and its presence after (present, absent or unknown).
type Fault struct {
	Name      string `json:"name"`
	Repaired  bool   `json:"repaired,omitempty"`
	Reapplied bool   `json:"reapplied,omitempty"`
	After     string `json:"after"`
}

// Following splits the name exam gives the admin action a faults-kept entry
// follows into the action and the machines it named: "replace srv,pc1" →
// "replace", [srv pc1]; "restart srv" likewise; any other name (reset,
// snapshot create, down+up, a list of several) is kept whole.
func Following(action string) (string, []string) {
	word, ms, ok := strings.Cut(action, " ")
	if ok && (word == "replace" || word == "restart") && !strings.Contains(ms, " ") {
		return word, strings.Split(ms, ",")
	}
	return action, nil
}

// Failure is the Facts of an action that failed after elapsed.
func Failure(elapsed time.Duration, err error) *Facts {
	return &Facts{Outcome: Failed, Reason: err.Error(), Elapsed: elapsed}
}

// Exit is the Facts of a terminal or admin session that ended with status.
func Exit(status int) *Facts { return &Facts{Outcome: Ended, Status: &status} }

// Fate is the fault's fate in English ("re-applied, present").
func (f Fault) Fate() string {
	switch {
	case f.Reapplied:
		return "re-applied, " + f.After
	case f.Repaired && f.After == "present":
		return "repaired before, present after (the state restored)"
	case f.Repaired:
		return "repaired before, left"
	}
	return f.After
}

// English is the audit log's English line for action: what `tailab audit`
// prints and what entries carried alone before the Facts (Legacy reads it
// back).
func (f *Facts) English(action string) string {
	status := func() int {
		if f.Status == nil {
			return 0
		}
		return *f.Status
	}
	via := func() string {
		if f.From == "" {
			return ""
		}
		return fmt.Sprintf(" (%s from %s)", f.Door, f.From)
	}
	if action == "forward" {
		switch f.Outcome {
		case Refused:
			return "to " + f.To + " refused: " + f.Reason
		case Failed:
			return "to " + f.To + ": " + f.Reason
		}
		return "to " + f.To
	}
	if f.Outcome == Failed {
		if f.Elapsed > 0 {
			return fmt.Sprintf("failed after %.1fs: %s", f.Elapsed.Seconds(), f.Reason)
		}
		return "failed: " + f.Reason
	}
	switch action {
	case "up":
		if p := f.Plan; p != nil {
			return fmt.Sprintf("%d to create, %d to keep, %d to replace, %d to remove", p.Create, p.Keep, p.Replace, p.Remove)
		}
	case "down":
		return fmt.Sprint(f.Candidates)
	case "snapshot":
		return f.Op + " " + f.Snapshot
	case "revert":
		return "to " + f.Snapshot
	case "session":
		verb := map[string]string{Opened: "open", Closed: "close"}[f.Outcome]
		return verb + " at " + f.At.UTC().Format(time.RFC3339)
	case "close":
		return "exam closed: session warned, closed in " + f.Grace
	case "login":
		if f.Outcome == Accepted {
			return fmt.Sprintf("%s from %s: accepted", f.Door, f.From)
		}
		return fmt.Sprintf("%s from %s: refused: %s", f.Door, f.From, f.Reason)
	case "faults-kept":
		parts := make([]string, len(f.Faults))
		for i, x := range f.Faults {
			parts[i] = x.Name + ": " + x.Fate()
		}
		following := f.Following
		if len(f.Machines) > 0 {
			following += " " + strings.Join(f.Machines, ",")
		}
		return following + ": " + strings.Join(parts, "; ")
	case "terminal", "console":
		switch f.Outcome {
		case Refused:
			return "refused: " + f.Reason + via()
		case Ended:
			return fmt.Sprintf("ended (status %d)", status())
		case Closed:
			return "closed"
		case Opened:
			switch f.Kind {
			case Console:
				return "opened" + via()
			case Shell:
				return "shell" + via()
			}
			return f.Kind + " " + f.Command + via()
		}
	case "ssh", "exec":
		switch {
		case f.Outcome == Ended:
			return fmt.Sprintf("ended: exit status %d", status())
		case f.Kind == Shell:
			return "interactive shell"
		case f.Kind == Exec:
			return "command: " + f.Command
		}
	}
	return ""
}
