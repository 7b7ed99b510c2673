package labs

import (
	"strings"
	"testing"
)

// TestMachinePath: the files: keys the loader accepts (TestLoadErrors shows
// the diagnostics of those it refuses).
func TestMachinePath(t *testing.T) {
	long := "/" + strings.Repeat("a", 4095)
	for p, ok := range map[string]bool{
		"/etc/motd": true, "/srv/a b": true, "/srv/..x": true, "/srv/x..": true,
		"": false, "/": false, "x": false, "/a/../b": false, "/a//b": false, "/a/.": false, "/a\x00": false, long: false,
	} {
		if err := MachinePath(p); (err == nil) != ok {
			t.Errorf("MachinePath(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}
