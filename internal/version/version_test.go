package version

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	if got := String("v1.2.0-3-g0123456789ab"); got != "v1.2.0-3-g0123456789ab" {
		t.Errorf("a stamped version is printed as is: got %q", got)
	}
	// A test binary carries no VCS stamp: the fallback ends at "dev".
	if got := String(""); got != "dev" {
		t.Errorf(`String("") in a test binary = %q, want "dev"`, got)
	}
}

func TestFromBuildInfo(t *testing.T) {
	const rev = "f40c755370bd17ebe3bbcd830c21a28d4acd424b"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-07T18:15:28Z"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name     string
		main     string
		settings []debug.BuildSetting
		want     string
	}{
		{"clean checkout", "v0.0.0-20261207181528-f40c755370bd", vcs("false"), "f40c755370bd (2026-12-07T18:15:28Z)"},
		{"changed tree", "v0.0.0-20261207181528-f40c755370bd+dirty", vcs("true"), "f40c755370bd-dirty (2026-12-07T18:15:28Z)"},
		{"go install @version", "v1.3.0", nil, "v1.3.0"},
		{"no vcs, -buildvcs=false", "(devel)", nil, "dev"},
		{"nothing at all", "", nil, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/tailab/tailab", Version: tc.main}, Settings: tc.settings}
			if got := fromBuildInfo(info); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
