package labs

import (
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/yamlx"
)

// Files are a machine's `files:`: a path in the machine → its content (templated).
// The keys are checked as they are decoded, each at its own line and column:
// the host writes these files into the machine's private dir, so a key must
// name a file inside the machine and nothing else (see MachinePath).
type Files map[string]string

// UnmarshalYAMLX implements yamlx.Unmarshaler: the mapping as usual, and each
// key checked with MachinePath (keys are not templates: they are used as written).
func (f *Files) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if err := MachinePath(k.Value); err != nil {
				d.Errorf(k, field, "%s: %v", yamlx.QuoteKey(k.Value), err)
			}
		}
	}
	d.Decode(n, (*map[string]string)(f), field)
}

// MachinePath checks the path of a file in a machine: absolute in the machine
// (/etc/motd), clean (no `.`, `..`, empty component or trailing slash), no NUL.
// Such a path stays inside the machine's private dir on the host whatever it
// is joined to; the host side still opens it beneath that dir (internal/beneath).
func MachinePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("an empty path names no file")
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("a path cannot hold a NUL byte")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("a path in the machine is absolute, e.g. /%s", p)
	case p == "/":
		return fmt.Errorf("/ names no file")
	case len(p) > 4095:
		return fmt.Errorf("a path of %d bytes is longer than Linux allows (4095)", len(p))
	}
	for _, c := range strings.Split(p[1:], "/") {
		if c == ".." {
			return fmt.Errorf("`..` is not allowed: a file stays inside the machine")
		}
	}
	if c := path.Clean(p); c != p {
		return fmt.Errorf("not a clean path (did you mean %s?)", c)
	}
	return nil
}
