//go:build !nolibvirt

package main

import (
	"fmt"
	"strconv"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
)

// libvirtProvider builds the libvirt provider, configured from g's flags.
func libvirtProvider(g *globalOptions) provision.Factory {
	return func() (provision.Provider, error) {
		hosts, err := libvirt.LoadHosts(g.HostsFile, g.Hosts)
		pid, perr := strconv.Atoi(g.Libvirtd)
		if perr != nil && g.Libvirtd != "" {
			err = fmt.Errorf("--libvirtd-pid %q: want a process id", g.Libvirtd)
		}
		c := libvirt.Config{QEMU: g.QEMU, LXC: g.LXC, DataDir: g.DataDir, ImageDir: g.ImageDir, HostVar: g.HostVar,
			VirtType: g.VirtType, ConsoleListen: g.Console, RootFS: g.RootFS, DaemonPID: pid, Hosts: hosts, Timings: envOr("TAILAB_TIMINGS", "")}
		c.Complete()
		return libvirt.New(c), err
	}
}
