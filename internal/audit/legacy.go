package audit

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	planRe    = regexp.MustCompile(`^(\d+) to create, (\d+) to keep, (\d+) to replace, (\d+) to remove$`)
	failedRe  = regexp.MustCompile(`^failed after ([0-9.]+)s: (.*)$`)
	closeRe   = regexp.MustCompile(`^exam closed: session warned, closed in (.*)$`)
	loginRe   = regexp.MustCompile(`^(ssh|web) from (\S+): (?:(accepted)|refused: (.*))$`)
	openRe    = regexp.MustCompile(`^(shell|exec|subsystem|opened)(?: (.*))? \((ssh|web) from (\S+)\)$`)
	refuseRe  = regexp.MustCompile(`^refused: (.*?)(?: \((ssh|web) from (\S+)\))?$`)
	forwardRe = regexp.MustCompile(`^to (\S+?)(?:(:| refused:) (.*))?$`)
	endedRe   = regexp.MustCompile(`^ended(?: \(status|: exit status) (-?\d+)\)?$`)
)

// Legacy reads the Facts back from an entry recorded before they existed (its
// English line alone, as English wrote it): nil when the line says nothing
// typed (a free text such as a fault list, or a line it does not know).
func Legacy(action, detail string) *Facts {
	if action == "forward" {
		return legacyForward(detail)
	}
	if m := failedRe.FindStringSubmatch(detail); m != nil {
		s, _ := strconv.ParseFloat(m[1], 64)
		return &Facts{Outcome: Failed, Reason: m[2], Elapsed: time.Duration(s * float64(time.Second))}
	}
	if reason, ok := strings.CutPrefix(detail, "failed: "); ok {
		return &Facts{Outcome: Failed, Reason: reason}
	}
	switch action {
	case "up":
		if m := planRe.FindStringSubmatch(detail); m != nil {
			n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
			return &Facts{Plan: &Plan{Create: n(1), Keep: n(2), Replace: n(3), Remove: n(4)}}
		}
	case "down":
		if ids, ok := strings.CutPrefix(detail, "["); ok {
			return &Facts{Candidates: strings.Fields(strings.TrimSuffix(ids, "]"))}
		}
	case "snapshot":
		if op, name, ok := strings.Cut(detail, " "); ok && (op == "create" || op == "delete") {
			return &Facts{Op: op, Snapshot: name}
		}
	case "revert":
		if name, ok := strings.CutPrefix(detail, "to "); ok {
			return &Facts{Snapshot: name}
		}
	case "session":
		if verb, at, ok := strings.Cut(detail, " at "); ok {
			outcome := map[string]string{"open": Opened, "close": Closed}[verb]
			if t, err := time.Parse(time.RFC3339, at); err == nil && outcome != "" {
				return &Facts{Outcome: outcome, At: t}
			}
		}
	case "close":
		if m := closeRe.FindStringSubmatch(detail); m != nil {
			return &Facts{Outcome: Closed, Grace: m[1]}
		}
	case "login":
		if m := loginRe.FindStringSubmatch(detail); m != nil {
			if m[3] != "" {
				return &Facts{Outcome: Accepted, Door: m[1], From: m[2]}
			}
			return &Facts{Outcome: Refused, Door: m[1], From: m[2], Reason: m[4]}
		}
	case "faults-kept":
		return legacyKept(detail)
	case "terminal", "console":
		return legacyTerminal(detail)
	case "ssh", "exec":
		if cmd, ok := strings.CutPrefix(detail, "command: "); ok {
			return &Facts{Kind: Exec, Command: cmd}
		}
		if detail == "interactive shell" {
			return &Facts{Kind: Shell}
		}
		return legacyEnded(detail)
	}
	return nil
}

// legacyForward reads "to 10.0.0.10:80", "to X refused: why", "to X: error".
func legacyForward(detail string) *Facts {
	m := forwardRe.FindStringSubmatch(detail)
	switch {
	case m == nil:
		return nil
	case m[2] == ":":
		return &Facts{Outcome: Failed, To: m[1], Reason: m[3]}
	case m[2] != "":
		return &Facts{Outcome: Refused, To: m[1], Reason: m[3]}
	}
	return &Facts{Outcome: Opened, To: m[1]}
}

func legacyEnded(detail string) *Facts {
	if m := endedRe.FindStringSubmatch(detail); m != nil {
		status, _ := strconv.Atoi(m[1])
		return Exit(status)
	}
	return nil
}

func legacyTerminal(detail string) *Facts {
	if f := legacyEnded(detail); f != nil {
		return f
	}
	if detail == "closed" {
		return &Facts{Outcome: Closed}
	}
	if m := refuseRe.FindStringSubmatch(detail); m != nil {
		return &Facts{Outcome: Refused, Reason: m[1], Door: m[2], From: m[3]}
	}
	if m := openRe.FindStringSubmatch(detail); m != nil {
		f := &Facts{Outcome: Opened, Kind: m[1], Command: m[2], Door: m[3], From: m[4]}
		if m[1] == "opened" {
			f.Kind = Console
		}
		return f
	}
	return nil
}

// legacyKept reads "reset: a: re-applied, present; b: repaired before, left".
func legacyKept(detail string) *Facts {
	following, rest, ok := strings.Cut(detail, ": ")
	if !ok {
		return nil
	}
	f := &Facts{}
	f.Following, f.Machines = Following(following)
	for _, p := range strings.Split(rest, "; ") {
		name, fate, _ := strings.Cut(p, ": ")
		x := Fault{Name: name, After: fate}
		if after, ok := strings.CutPrefix(fate, "re-applied, "); ok {
			x.Reapplied, x.After = true, after
		} else if fate == "repaired before, left" {
			x.Repaired, x.After = true, "absent"
		} else if fate == "repaired before, present after (the state restored)" {
			x.Repaired, x.After = true, "present"
		}
		f.Faults = append(f.Faults, x)
	}
	return f
}
