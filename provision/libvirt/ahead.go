package libvirt

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/tailab/tailab/provision"
)

// Mounts made ahead: the contained machines an `up` creates get their uid
// ranges in one update of the table, their files (prepare) and their mounts
// in one run of the mount helper (idmount.go, setupParallel machines at once), started with the
// networks rather than one helper run per machine inside its creation slot.
// The helper names each machine as it is done: that machine may start then.
// Before, each machine ran nsenter and this 40 MB binary twice (the helper and
// its user namespace's child): 0.15 s of a slot and 50 ms of CPU each, on a
// loaded 2-core host.

// mountWait is a machine's mounts being made ahead.
type mountWait struct {
	done chan struct{}
	err  error
}

// mountAhead starts making the mounts of the contained machines the plan
// creates, and returns their waits by domain (none: nothing to make ahead).
// A machine's startDomain waits for its own (mountsAhead) instead of making
// them.
func (p *Provider) mountAhead(specs []*machineSpec, ops map[string]provision.Op, opts provision.ApplyOptions) map[string]*mountWait {
	var sps []*machineSpec
	for _, sp := range specs {
		if sp.Contained && ops[sp.Domain] == provision.OpCreate {
			sps = append(sps, sp)
		}
	}
	if len(sps) == 0 {
		return nil
	}
	waits := map[string]*mountWait{}
	byDir := map[string]*mountWait{}
	for _, sp := range sps {
		w := &mountWait{done: make(chan struct{})}
		waits[sp.Domain], byDir[p.mountDir(sp.Domain)] = w, w
		sp.mountsAhead = w
	}
	finish := func(w *mountWait, err error) {
		select {
		case <-w.done:
		default:
			w.err = err
			close(w.done)
		}
	}
	go func() {
		end := p.timed("mounts.ahead", "")
		defer end()
		err := p.uidBases(sps...)
		var args []string
		for _, sp := range sps {
			if err != nil {
				finish(sp.mountsAhead, err)
				continue
			}
			sp.preparedAhead = true
			aerr := p.prepare(sp, opts)
			var a []string
			if aerr == nil {
				a, aerr = p.mountArgs(sp)
			}
			if aerr != nil {
				finish(sp.mountsAhead, aerr)
				continue
			}
			if len(args) > 0 {
				args = append(args, "--")
			}
			args = append(args, a...)
		}
		if len(args) == 0 {
			return
		}
		cmd := p.idmountCommand("setup", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, perr := cmd.StdoutPipe()
		if perr == nil {
			perr = cmd.Start()
		}
		if perr != nil {
			for _, w := range byDir {
				finish(w, fmt.Errorf("mount helper: %w", perr))
			}
			return
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if dir, ok := strings.CutPrefix(line, "ok "); ok && byDir[dir] != nil {
				finish(byDir[dir], nil)
			} else if rest, ok := strings.CutPrefix(line, "error "); ok {
				dir, msg, _ := strings.Cut(rest, ": ")
				if w := byDir[dir]; w != nil {
					finish(w, fmt.Errorf("mounts: %s", msg))
				}
			}
		}
		werr := cmd.Wait()
		for _, w := range byDir { // not named: the helper failed before
			finish(w, fmt.Errorf("mount helper: %v: %s", werr, strings.TrimSpace(stderr.String())))
		}
	}()
	return waits
}

// waitMounts waits for the machine's mounts made ahead, if any; after it, a
// start of the machine makes them itself again.
func (sp *machineSpec) waitMounts() (ahead bool, err error) {
	w := sp.mountsAhead
	if w == nil {
		return false, nil
	}
	<-w.done
	return true, w.err
}
