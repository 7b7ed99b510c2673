//go:build !nolibvirt

package main

import (
	"strings"
	"testing"
)

// The libvirt provider's configuration comes from the global flags; a bad
// value is refused before any connection.
func TestLibvirtConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    globalOptions
		want string
	}{
		{"ok", globalOptions{DataDir: t.TempDir(), Libvirtd: "42", Hosts: []string{"kvm1=qemu+ssh://kvm1/system", "kvm2=qemu+ssh://kvm2/system"}}, ""},
		{"pid", globalOptions{Libvirtd: "libvirtd"}, `--libvirtd-pid "libvirtd": want a process id`},
		{"hosts file", globalOptions{HostsFile: "/nonexistent/hosts.yaml"}, "/nonexistent/hosts.yaml"},
		{"host twice", globalOptions{Hosts: []string{"a=qemu:///x", "a=qemu:///y"}}, "host a is listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := providers(&tc.g).New("libvirt")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
