package libvirt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	lv "libvirt.org/go/libvirt"

	"github.com/tailab/tailab/internal/beneath"
)

// A contained machine has no sys_admin (containerCaps), so neither its init
// nor its root can set its host name: libvirt leaves it the domain's name.
// The host sets it instead, right after the start, in the container's UTS
// namespace (libvirt hands its namespaces over: virDomainLxcOpenNamespace).
// The name is what the machine's own /etc/hostname says, when its writable
// layer holds one (a candidate renamed it: the name lasts across restarts, as
// on a real machine), else the lab's `hostname:`.

// setHostname sets a running contained machine's host name.
func (p *Provider) setHostname(dom *lv.Domain, sp *machineSpec) error {
	name := persistentHostname(sp.Dir)
	if name == "" {
		name = hostname(sp)
	}
	// Create returns before libvirt knows the container's init: its PID
	// comes a few milliseconds later ("Init pid is not yet available"), and
	// its namespaces a little after (measured under load: no UTS namespace
	// among them yet). So until a deadline, every few milliseconds.
	var err error
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var done bool
		if done, err = setUTSName(dom, name); done || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("host name %q: %w", name, err)
	}
	return nil
}

// setUTSName sets the host name in the domain's UTS namespace; done is false
// when the namespace is not to be had yet (err says why), true once set or
// on an error retrying will not cure. The namespace is the container init's,
// found from libvirt_lxc (the domain's ID is its PID) where tailab sees the
// daemon's processes; else libvirt's virDomainLxcOpenNamespace, which fails
// until libvirtd has heard of the init's PID (under load, measured: it had
// not after a minute).
func setUTSName(dom *lv.Domain, name string) (done bool, err error) {
	var files []os.File
	if pid, perr := containerInit(dom); perr == nil {
		f, oerr := os.Open(fmt.Sprintf("/proc/%d/ns/uts", pid))
		if oerr != nil {
			return false, oerr
		}
		files = []os.File{*f}
	} else if files, err = dom.LxcOpenNamespace(0); err != nil {
		return !isOperationInvalid(err), fmt.Errorf("open the container's namespaces: %w (its init: %v)", err, perr)
	}
	defer func() {
		for i := range files {
			files[i].Close()
		}
	}()
	var kinds []string
	for i := range files {
		fd := int(files[i].Fd())
		t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
		if err != nil || t != unix.CLONE_NEWUTS {
			kinds = append(kinds, fmt.Sprintf("%#x/%v", t, err))
			continue
		}
		errc := make(chan error, 1)
		go func() {
			// Never unlocked: the thread, in the container's UTS namespace,
			// exits with this goroutine instead of serving others.
			runtime.LockOSThread()
			if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
				errc <- err
				return
			}
			errc <- unix.Sethostname([]byte(name))
		}()
		return true, <-errc
	}
	return false, fmt.Errorf("libvirt gave no UTS namespace of the container (%d namespaces: %s)", len(files), strings.Join(kinds, " "))
}

// containerInit is the host PID of a running container's init: the child of
// its libvirt_lxc controller (the domain's ID) that is PID 1 of its own PID
// namespace.
func containerInit(dom *lv.Domain) (int, error) {
	id, err := dom.GetID()
	if err != nil {
		return 0, err
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", id))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no process %d (libvirt_lxc) here", id)
	}
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			status, err := os.ReadFile("/proc/" + f + "/status")
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(status), "\n") {
				if ns, ok := strings.CutPrefix(line, "NSpid:"); ok {
					if p := strings.Fields(ns); len(p) > 1 && p[len(p)-1] == "1" {
						return strconv.Atoi(f)
					}
				}
			}
		}
	}
	return 0, fmt.Errorf("libvirt_lxc %d has no init child yet", id)
}

// persistentHostname is the first line of /etc/hostname in a machine's
// writable layer, when it is a valid host name; "" otherwise. The file is the
// candidate's: read beneath the layer, links not followed, bounded.
func persistentHostname(dir string) string {
	d, err := beneath.Open(dir)
	if err != nil {
		return ""
	}
	defer d.Close()
	b, err := d.ReadFile(rootLayer+"/upper/etc/hostname", 256)
	if err != nil {
		return ""
	}
	name, _, _ := strings.Cut(string(b), "\n")
	name = strings.TrimSpace(name)
	if !validHostname(name) {
		return ""
	}
	return name
}

// validHostname: 1-64 letters, digits, dots, hyphens and underscores.
func validHostname(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isOperationInvalid: libvirt's "Requested operation is not valid".
func isOperationInvalid(err error) bool {
	var e lv.Error
	return errors.As(err, &e) && e.Code == lv.ERR_OPERATION_INVALID
}
