package exam

import (
	"testing"

	"github.com/tailab/tailab/internal/testenv"
)

// The tests that reach machines (sshd, ping) run in a network namespace of
// their own: nothing touches the host's network.
func TestMain(m *testing.M) { testenv.RunInNetns(m) }
