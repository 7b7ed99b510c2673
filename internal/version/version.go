// Package version says which build of tailab is running, so that a jury's
// report and a bug report name the build they came from.
package version

import "runtime/debug"

// String returns stamped when the build stamped it (the scripts that build
// tailab pass -ldflags "-X main.version=$(bash scripts/version.sh)"), else the
// commit Go recorded at build time (-buildvcs: 12 hex digits, "-dirty" when
// the tree had changes, the commit's time), else the module version of a
// `go install ...@vX`, else "dev".
func String(stamped string) string {
	if stamped != "" {
		return stamped
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(info)
}

func fromBuildInfo(info *debug.BuildInfo) string {
	var rev, at string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		return "dev"
	}
	v := rev[:min(len(rev), 12)]
	if dirty {
		v += "-dirty"
	}
	if at != "" {
		v += " (" + at + ")"
	}
	return v
}
