package verifytest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/libvirtd"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
)

// TestVerifyBuiltinLabs proves the built-in labs with a solution both ways:
// untouched 0 points (baseline aside), reference solution 100 %, and for each
// step exactly the checks that need it fail without it (docs/catalog.md), with
// the library `tailab verify --mutations` runs (exam.VerifyOptions): each
// mutation (a near miss of the solution) fails exactly the checks it lists,
// and reset, snapshot create and revert leave the untouched lab as it was.
func TestVerifyBuiltinLabs(t *testing.T) {
	if !libvirtd.InDaemonNetns() {
		testenv.Unavailable(t, "needs root and libvirtd (/usr/sbin/libvirtd) for a private daemon")
		return
	}
	for _, b := range []string{"samba-tool", "samba", "dnsmasq", "nft", "busybox", "smbclient", "setpriv", "mkfs.ext4", "useradd"} {
		testenv.RequireBinary(t, b)
	}
	// The machines are contained (docs/threat-model.md): the lab rootfs, a user
	// namespace of their own, 15 capabilities.
	rootfs := libvirt.DefaultRootFS()
	if err := libvirt.CheckRootFS(rootfs); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	for _, lab := range []string{"tpe-local", "ccp2-infra-local", "ccp3-support-local", "ccp1-poste-local"} {
		t.Run(lab, func(t *testing.T) {
			start := time.Now()
			eng := privateEngine(t)
			log := &lines{}
			o := &exam.VerifyOptions{Lab: lab, Mutations: withMutations[lab], Parallel: 8, Observer: log}
			if err := o.Complete(); err != nil {
				t.Fatal(err)
			}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			o.Engine = eng
			v, err := o.Run(context.Background())
			var out bytes.Buffer
			if v != nil {
				if perr := v.Print(&out); perr != nil {
					t.Fatal(perr)
				}
			}
			t.Logf("verify %s (%.1fs):\n%s\n%s", lab, time.Since(start).Seconds(), out.String(), log)
			if err != nil {
				t.Fatalf("verify %s: %v\n%s", lab, err, log)
			}
			if !bytes.Contains(out.Bytes(), []byte("Verified both ways: no surprise.")) {
				t.Errorf("no verdict line in the output")
			}
			if !withMutations[lab] {
				return
			}
			caught := fmt.Sprintf("%d mutation(s), every mutation caught.", len(v.Mutations))
			if len(v.Mutations) < 3 || !bytes.Contains(out.Bytes(), []byte(caught)) {
				t.Errorf("want at least 3 mutations, every one caught; got %d", len(v.Mutations))
			}
			if len(v.Integrity) != 3 || !bytes.Contains(out.Bytes(), []byte("nothing gained, every fault present")) {
				t.Errorf("integrity phase: %d action(s), not all held", len(v.Integrity))
			}
			// The summary CI prints, one line per lab: go test hides a passing
			// package's output, so scripts/test.sh names a file to collect it.
			line := fmt.Sprintf("verify --mutations %s: %s (%.1fs)\n", lab, caught, time.Since(start).Seconds())
			fmt.Print(line)
			if f := os.Getenv("TAILAB_TEST_SUMMARY"); f != "" {
				if err := appendLine(f, line); err != nil {
					t.Errorf("summary: %v", err)
				}
			}
		})
	}
}

// withMutations are the labs whose mutations are proven too.
var withMutations = map[string]bool{"tpe-local": true, "ccp2-infra-local": true, "ccp3-support-local": true, "ccp1-poste-local": true}

// privateEngine is an engine on a fresh data dir and the private libvirtd,
// its connections closed at the end of the test.
func privateEngine(t testing.TB) *provision.Engine {
	t.Helper()
	data := t.TempDir()
	st, err := provision.OpenState(data)
	if err != nil {
		t.Fatal(err)
	}
	// Complete: the machines are contained (the built lab rootfs, a user
	// namespace of their own, 15 capabilities: docs/threat-model.md).
	cfg := libvirt.Config{
		QEMU: daemonEnv["TAILAB_QEMU_URI"], LXC: daemonEnv["TAILAB_LXC_URI"], HostVar: daemonEnv["TAILAB_HOSTVAR"],
		DataDir: data, PoolDir: filepath.Join(data, "pool"), ImageDir: filepath.Join(data, "images"),
		VirtType: "qemu", ConsoleListen: "127.0.0.1",
	}
	cfg.Complete()
	p := libvirt.New(cfg)
	t.Cleanup(func() { p.Close() })
	return &provision.Engine{State: st, Provider: p}
}

// lines keeps a verification's log for the failure message.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, format+"\n", args...)
}
func (l *lines) Warnf(format string, args ...any) { l.Logf(format, args...) }
func (l *lines) Begin(int)                        {}
func (l *lines) Stepf(format string, args ...any) {
	if format != "" {
		l.Logf(format, args...)
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// appendLine adds line to the summary file scripts/test.sh prints at the end.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
