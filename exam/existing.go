package exam

import (
	"os"

	"github.com/tailab/tailab/internal/atomicfile"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/static"
)

// ExistingRefuses says why tailab may not change the machines of a session
// of existing machines (provider static): the drawn faults (what "faults")
// and the reference solution's steps (what "solution") change a centre's own
// room, so the lab must allow them (`existing: {faults: true, solution:
// true}`). nil for the other providers, or when the lab allows it.
func ExistingRefuses(provider string, lab *labs.Lab, what string) error {
	if provider != static.Name {
		return nil
	}
	ex := lab.Existing
	if ex == nil {
		ex = &labs.Existing{}
	}
	switch {
	case what == "faults" && !ex.Faults:
		return errclass.Usagef("lab %q draws faults, and the static provider changes nothing on machines tailab did not create: run up with --no-faults (every check then applies), or let tailab break them with `existing: {faults: true}` in the lab", lab.Name)
	case what == "solution" && !ex.Solution:
		return errclass.Usagef("lab %q: the static provider does not run the reference solution's steps on machines tailab did not create unless the lab says so (`existing: {solution: true}`)", lab.Name)
	}
	return nil
}

// InventoryInit is `tailab inventory init`: an inventory skeleton
// (static.Skeleton) for a lab (a built-in name or a file) and its candidates
// (a roster file, else count numbered ones), written to out, or returned when
// out is "": an existing file is not replaced.
func InventoryInit(lab, roster string, count int, out string) ([]byte, error) {
	l, _, err := OpenLab(lab)
	if err != nil {
		return nil, err
	}
	cands := provision.NumberedCandidates(count)
	if roster != "" {
		r, err := ReadRosterFile(roster)
		if err != nil {
			return nil, err
		}
		cands = r.Candidates
	}
	if len(cands) == 0 {
		return nil, errclass.Usagef("an inventory needs candidates (--candidates roster.csv or --count N)")
	}
	data := static.Skeleton(l, cands)
	if out == "" {
		return data, nil
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, errclass.Usagef("%s exists: tailab does not replace an inventory (remove it first)", out)
	}
	return nil, atomicfile.WriteFile(out, data, 0o644)
}
