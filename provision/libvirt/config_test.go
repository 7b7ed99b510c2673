package libvirt

import (
	"reflect"
	"testing"

	"github.com/tailab/tailab/provision"
)

// Complete fills the defaults, takes the first host's URIs when hosts are
// listed, keeps what the caller set, and reads no environment (the command
// line maps TAILAB_* variables to flags).
func TestConfigComplete(t *testing.T) {
	t.Setenv("TAILAB_VIRT_TYPE", "qemu")
	t.Setenv("TAILAB_CONSOLE_LISTEN", "192.0.2.1")
	for _, tc := range []struct {
		name string
		in   Config
		want Config
	}{
		{"defaults", Config{DataDir: "/d"}, Config{QEMU: "qemu:///system", LXC: "lxc:///system", DataDir: "/d",
			PoolDir: "/d/pool", ImageDir: "/d/images", VirtType: "kvm", ConsoleListen: "127.0.0.1", RootFS: DefaultRootFS(),
			MountRoot: DefaultMountRoot, UIDTable: DefaultUIDTable, SambaDCTemplates: provision.SambaDCTemplateRoot}},
		{"set", Config{QEMU: "qemu:///session", DataDir: "/d", PoolDir: "/p", VirtType: "qemu", ConsoleListen: "10.0.0.1"},
			Config{QEMU: "qemu:///session", LXC: "lxc:///system", DataDir: "/d", PoolDir: "/p", ImageDir: "/d/images",
				VirtType: "qemu", ConsoleListen: "10.0.0.1", MountRoot: DefaultMountRoot, UIDTable: DefaultUIDTable,
				SambaDCTemplates: provision.SambaDCTemplateRoot, RootFS: DefaultRootFS()}},
		// Containers contained unless the host's / is asked for; the test driver runs none.
		{"host layout", Config{DataDir: "/d", RootFS: RootFSHost}, Config{QEMU: "qemu:///system", LXC: "lxc:///system", DataDir: "/d",
			PoolDir: "/d/pool", ImageDir: "/d/images", VirtType: "kvm", ConsoleListen: "127.0.0.1",
			MountRoot: DefaultMountRoot, UIDTable: DefaultUIDTable, SambaDCTemplates: provision.SambaDCTemplateRoot}},
		{"test driver", Config{DataDir: "/d", LXC: "test:///default", QEMU: "test:///default"}, Config{QEMU: "test:///default", LXC: "test:///default", DataDir: "/d",
			PoolDir: "/d/pool", ImageDir: "/d/images", VirtType: "kvm", ConsoleListen: "127.0.0.1",
			MountRoot: DefaultMountRoot, UIDTable: DefaultUIDTable, SambaDCTemplates: provision.SambaDCTemplateRoot}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			c.Complete()
			if !reflect.DeepEqual(c, tc.want) {
				t.Errorf("Complete:\n got %+v\nwant %+v", c, tc.want)
			}
		})
	}
	c := Config{QEMU: "qemu:///system", Hosts: []Host{{Name: "kvm1", QEMU: "qemu+ssh://kvm1/system", LXC: "lxc+ssh://kvm1/system"}, {Name: "kvm2", QEMU: "qemu+ssh://kvm2/system"}}}
	c.Complete()
	if c.QEMU != "qemu+ssh://kvm1/system" || c.LXC != "lxc+ssh://kvm1/system" {
		t.Errorf("with hosts: QEMU %s, LXC %s (want the first host's)", c.QEMU, c.LXC)
	}
}
