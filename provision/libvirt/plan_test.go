package libvirt

import (
	"fmt"
	"strings"
	"testing"
)

// TestPlanReportsVMXMLError: a VM's domain XML that cannot be built fails the
// plan. machineSpec once declared its own err inside the VM case, so vmXML's
// error was dropped and the plan carried a domain libvirt would refuse at
// define time (here a 27th disk named "vd{").
func TestPlanReportsVMXMLError(t *testing.T) {
	for _, tc := range []struct {
		disks   int
		wantErr string
	}{
		{disks: maxVolumes - 1},
		{disks: maxVolumes, wantErr: fmt.Sprintf("27 disks (with the system disk): a VM's virtio disks are named vda to vdz, so at most %d extra disks", maxVolumes-1)},
	} {
		t.Run(fmt.Sprint(tc.disks), func(t *testing.T) {
			lab := "name: many-disks\nnetworks: [{name: lan, cidr: 10.30.0.0/24}]\nmachines:\n" +
				"  - name: srv\n    role: server\n    kind: vm\n    os: linux\n    image: deb\n" +
				"    nics: [{network: lan, address: 10.30.0.10}]\n    disks:\n" +
				strings.Repeat("      - {size: 1GiB}\n", tc.disks)
			specs, err := labSpecs(t, lab, "deb")
			if tc.wantErr == "" {
				if err != nil || len(specs) != 1 || len(specs[0].Volumes) != tc.disks+1 {
					t.Fatalf("specs: %v, %+v", err, specs)
				}
				return
			}
			if err == nil || !strings.HasSuffix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to end with %q", err, tc.wantErr)
			}
		})
	}
}
