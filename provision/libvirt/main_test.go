package libvirt_test

import (
	"os"
	"testing"

	"github.com/tailab/tailab/internal/testenv/libvirtd"
)

// The integration tests run inside the network namespace of a private libvirtd
// that internal/testenv/libvirtd starts (and stops, by PID, with a watchdog should
// the test binary die): they reach every machine's management address, and
// nothing touches the host's network.
func TestMain(m *testing.M) { libvirtd.MainInNetns(m) }

// daemonEnv is the private daemon's environment as MainInNetns passed it on
// (TAILAB_QEMU_URI, TAILAB_LXC_URI, ...); empty when no daemon runs here.
var daemonEnv = func() map[string]string {
	out := map[string]string{}
	if !libvirtd.InDaemonNetns() {
		return out
	}
	for _, k := range []string{"TAILAB_QEMU_URI", "TAILAB_LXC_URI", "TAILAB_HOSTVAR", "TAILAB_NETNS", "TAILAB_LIBVIRTD_DIR", "TAILAB_LIBVIRTD_PID"} {
		out[k] = os.Getenv(k)
	}
	return out
}()
