package main

import (
	"testing"

	"github.com/tailab/tailab/internal/testenv"
)

// TestMain runs the package's tests in a private network namespace (as root, when
// possible) so that the vantage test can start an sshd on a loopback address.
func TestMain(m *testing.M) { testenv.RunInNetns(m) }
