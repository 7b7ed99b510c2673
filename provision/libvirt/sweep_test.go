package libvirt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	lv "libvirt.org/go/libvirt"
)

// TestSweeper: on the test driver, the objects a Terraform run of candidate
// c01 left (a running domain, its disk and cloud-init volumes — one without
// a domain yet — and its network) are removed by name over the QEMU URI
// alone; another candidate's, another session's and the management network
// stay.
func TestSweeper(t *testing.T) {
	c, err := lv.NewConnect(testDriverURI)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pool, err := c.LookupStoragePoolByName("default-pool")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Free()
	for _, v := range []string{"tl-s4.c01.srv.qcow2", "tl-s4.c01.srv.cidata.iso", "tl-s4.c01.pc1.qcow2", "tl-s4.c02.srv.qcow2", "tl-s5.c01.srv.qcow2"} {
		vol, err := pool.StorageVolCreateXML(fmt.Sprintf(`<volume><name>%s</name><capacity>1048576</capacity></volume>`, v), 0)
		if err != nil {
			t.Fatal(err)
		}
		vol.Free()
	}
	for _, n := range []string{"tl-s4.c01.lan", "tl-s4.c02.lan", "tl-s4.mgmt"} {
		net, err := c.NetworkDefineXML(fmt.Sprintf(`<network><name>%s</name><bridge name="x%d"/></network>`, n, len(n)))
		if err != nil {
			t.Fatal(err)
		}
		if err := net.Create(); err != nil {
			t.Fatal(err)
		}
		net.Free()
	}
	for _, d := range []string{"tl-s4.c01.srv", "tl-s4.c02.srv"} {
		dom, err := c.DomainDefineXML(fmt.Sprintf(`<domain type="test"><name>%s</name><memory>65536</memory><os><type>hvm</type></os></domain>`, d))
		if err != nil {
			t.Fatal(err)
		}
		if err := dom.Create(); err != nil {
			t.Fatal(err)
		}
		dom.Free()
	}

	gone, err := Sweeper{URI: testDriverURI, Pool: "default-pool"}.Sweep(context.Background(), "s4", "c01")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(gone)
	if want := "tl-s4.c01.lan tl-s4.c01.pc1.qcow2 tl-s4.c01.srv tl-s4.c01.srv.cidata.iso tl-s4.c01.srv.qcow2"; strings.Join(gone, " ") != want {
		t.Errorf("swept %v, want %s", gone, want)
	}
	var left []string
	doms, _ := c.ListAllDomains(0)
	for _, d := range doms {
		n, _ := d.GetName()
		left = append(left, n)
		d.Free()
	}
	vols, _ := pool.ListAllStorageVolumes(0)
	for _, v := range vols {
		n, _ := v.GetName()
		left = append(left, n)
		v.Free()
	}
	nets, _ := c.ListAllNetworks(0)
	for _, n := range nets {
		name, _ := n.GetName()
		left = append(left, name)
		n.Free()
	}
	for _, want := range []string{"tl-s4.c02.srv", "tl-s4.c02.srv.qcow2", "tl-s5.c01.srv.qcow2", "tl-s4.c02.lan", "tl-s4.mgmt"} {
		if !slices.Contains(left, want) {
			t.Errorf("%s was swept too (left: %v)", want, left)
		}
	}
	for _, l := range left {
		if strings.HasPrefix(l, "tl-s4.c01.") {
			t.Errorf("%s left", l)
		}
	}
	if _, err := (Sweeper{URI: testDriverURI}).Sweep(context.Background(), "s4", ""); err == nil {
		t.Error("the management network was swept")
	}
}
