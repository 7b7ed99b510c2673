package libvirt

import (
	"errors"
	"fmt"
	"os"
	"runtime"
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
	// comes a few milliseconds later ("Init pid is not yet available").
	var files []os.File
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if files, err = dom.LxcOpenNamespace(0); err == nil || time.Now().After(deadline) || !isOperationInvalid(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("host name: open the container's namespaces: %w", err)
	}
	defer func() {
		for i := range files {
			files[i].Close()
		}
	}()
	for i := range files {
		fd := int(files[i].Fd())
		if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err != nil || t != unix.CLONE_NEWUTS {
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
		if err := <-errc; err != nil {
			return fmt.Errorf("host name %q: %w", name, err)
		}
		return nil
	}
	return errors.New("host name: libvirt gave no UTS namespace of the container")
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
