package verifytest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/libvirtd"
)

// TestVerifyBuiltinLabs proves the built-in labs with a solution both ways:
// untouched 0 points (baseline aside), reference solution 100 %, and for each
// step exactly the checks that need it fail without it (docs/catalog.md).
func TestVerifyBuiltinLabs(t *testing.T) {
	if !libvirtd.InDaemonNetns() {
		testenv.Unavailable(t, "needs root and libvirtd (/usr/sbin/libvirtd) for a private daemon")
		return
	}
	for _, b := range []string{"samba-tool", "samba", "dnsmasq", "nft", "busybox", "smbclient", "setpriv", "mkfs.ext4", "useradd"} {
		testenv.RequireBinary(t, b)
	}
	bin := filepath.Join(t.TempDir(), "tailab")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/tailab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build tailab: %v\n%s", err, out)
	}
	for _, lab := range []string{"tpe-local", "ccp2-infra-local", "ccp3-support-local", "ccp1-poste-local"} {
		t.Run(lab, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(bin, "verify", lab, "--data-dir", t.TempDir())
			cmd.Env = append(os.Environ(), "TAILAB_VIRT_TYPE=qemu")
			for k, v := range daemonEnv {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			t.Logf("tailab verify %s (%.1fs):\n%s", lab, time.Since(start).Seconds(), stdout.String())
			if err != nil {
				t.Fatalf("tailab verify %s: %v\n%s", lab, err, stderr.String())
			}
			if !bytes.Contains(stdout.Bytes(), []byte("Verified both ways: no surprise.")) {
				t.Errorf("no verdict line in the output")
			}
		})
	}
}
