package libvirt_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// TestRealExamLabsDefine brings up one candidate of each real-exam lab of the
// catalog (Windows VMs with UEFI and an answer file, OpenWrt) on the private
// libvirtd, with empty placeholder base images of the catalog's names (the real
// ones are the centre's: docs/base-images.md). It proves what can be proven
// without Windows: real libvirt accepts every domain, network, thin-clone
// overlay and seed ISO tailab makes for them, each Windows machine's answer
// file gives its NICs their addresses by MAC, and down leaves nothing.
func TestRealExamLabsDefine(t *testing.T) {
	needDaemon(t)
	testenv.RequireBinary(t, "qemu-img")
	testenv.RequireBinary(t, "isoinfo")
	images := filepath.Join(t.TempDir(), "images")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, lab := range []string{"ccp1-poste", "ccp2-infra", "ccp3-support"} {
		t.Run(lab, func(t *testing.T) {
			l, err := labs.LoadBuiltin(lab)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range l.Machines {
				img := filepath.Join(images, m.Image+".qcow2")
				if _, err := os.Stat(img); err == nil || m.Image == "" {
					continue
				}
				if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "1G").CombinedOutput(); err != nil {
					t.Fatalf("qemu-img: %v: %s", err, out)
				}
			}
			src, err := labs.BuiltinSource(lab)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			dataDir := t.TempDir()
			eng := newEngine(t, dataDir, images)
			session := "ex" + strings.Split(lab, "-")[0][3:]
			sess, plan := sessionPlan(t, eng, session, l, src, 1)
			// NoWait: the placeholders boot nothing; Force: 4 VMs of 4-8 GiB each.
			t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) }) // also after a failed up: nothing left for the next test
			if err := eng.Up(ctx, plan, provision.ApplyOptions{NoWait: true, Force: true}, nopObserver{}); err != nil {
				t.Fatalf("up: %v", err)
			}
			states, err := eng.State.Machines(session)
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != len(l.Machines) {
				t.Fatalf("%d machines recorded, the lab has %d", len(states), len(l.Machines))
			}
			for _, m := range states {
				if m.State != provision.StateRunning {
					t.Errorf("%s: %s (%s), want running", m.Machine, m.State, m.Error)
				}
			}
			ins, err := sess.Instances()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ins[0].Machines {
				if m.OS != labs.OSWindows {
					continue
				}
				iso := filepath.Join(dataDir, "machines", session, "c01", m.Name, "seed.iso")
				out, err := exec.Command("isoinfo", "-i", iso, "-J", "-x", "/autounattend.xml").Output()
				if err != nil {
					t.Fatalf("%s: read the answer file: %v", m.Name, err)
				}
				x := string(out)
				if !strings.Contains(x, "Microsoft-Windows-TCPIP") || !strings.Contains(x, "<Identifier>52-54-") {
					t.Errorf("%s: the answer file sets no NIC address by MAC", m.Name)
				}
				for _, n := range m.NICs {
					if n.Address != "" && n.Address != "dhcp" && !strings.Contains(x, ">"+n.Address+"/") {
						t.Errorf("%s: the answer file lacks %s's address %s", m.Name, n.Network, n.Address)
					}
				}
			}
			if err := eng.Down(ctx, sess, nil, nopObserver{}); err != nil {
				t.Fatalf("down: %v", err)
			}
			assertNothingLeft(t, eng, session, dataDir)
		})
	}
}
