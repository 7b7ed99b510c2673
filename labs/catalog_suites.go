package labs

import (
	"embed"
	"fmt"
	"path"
	"strings"
)

// Check suites of the built-in labs, next to them in the catalog: a built-in lab's
// `checks: [suites/x.yaml]` names catalog/suites/x.yaml.
//
//go:embed catalog/suites/*.yaml
var catalogSuitesFS embed.FS

// BuiltinSuite returns the text of a built-in lab's check suite, by the path the
// lab's `checks` list gives (relative to the catalog, e.g. "suites/tpe-local.yaml").
func BuiltinSuite(p string) ([]byte, error) {
	clean := path.Clean(p)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("built-in suite %q: path outside the catalog", p)
	}
	data, err := catalogSuitesFS.ReadFile("catalog/" + clean)
	if err != nil {
		return nil, fmt.Errorf("built-in suite %q: %w", p, err)
	}
	return data, nil
}
