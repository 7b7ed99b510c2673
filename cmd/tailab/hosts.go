package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Several libvirt hosts (docs/multi-host.md): repeated --host NAME=QEMU_URI[,LXC_URI]
// and/or --hosts FILE replace the single host of --connect/--connect-lxc.
//
// The flags live on pflag.CommandLine, which cobra merges into the root
// command's persistent flags, so this file adds them without editing root.go.
var (
	hostSpecs []string
	hostsFile string
)

func init() {
	pflag.StringArrayVar(&hostSpecs, "host", splitHostSpecs(os.Getenv("TAILAB_LIBVIRT_HOSTS")),
		"a libvirt host labs may be placed on, NAME=QEMU_URI[,LXC_URI] (repeat for several; env TAILAB_LIBVIRT_HOSTS, ';'-separated); replaces --connect")
	pflag.StringVar(&hostsFile, "hosts", os.Getenv("TAILAB_LIBVIRT_HOSTS_FILE"),
		"YAML file of libvirt hosts (hosts: [{name, qemu, lxc}]; env TAILAB_LIBVIRT_HOSTS_FILE); replaces --connect")
}

// splitHostSpecs splits a ';'- or newline-separated list of host specs.
func splitHostSpecs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// hostsOption is the provider option "hosts": the --host specs, ';'-separated.
func hostsOption() string { return strings.Join(hostSpecs, ";") }
