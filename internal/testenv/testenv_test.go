package testenv

import (
	"net"
	"os"
	"testing"
)

func TestMain(m *testing.M) { RunInNetns(m) }

// TestPrivateLoopback proves the re-exec: in a fresh namespace only lo exists.
func TestPrivateLoopback(t *testing.T) {
	RequireRoot(t)
	RequireIsolatedNetwork(t)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		t.Fatalf("want only lo in a private namespace, got %v", ifs)
	}
	l, err := net.Listen("tcp", "127.0.0.9:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	l.Close()
}

func TestUnavailableSkipsOutsideCI(t *testing.T) {
	if InCI() {
		t.Skip("only meaningful outside CI")
	}
	os.Unsetenv("CI")
	ran := false
	t.Run("inner", func(t *testing.T) {
		defer func() { ran = true }()
		Unavailable(t, "nothing")
	})
	if !ran {
		t.Fatal("subtest did not run")
	}
}
