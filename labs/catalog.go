package labs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed catalog/*.yaml
var catalogFS embed.FS

// CatalogEntry is a built-in lab.
type CatalogEntry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Machines    int    `json:"machines"`
	Networks    int    `json:"networks"`
}

// Catalog lists the built-in labs, sorted by name.
func Catalog() ([]CatalogEntry, error) {
	names, err := fs.Glob(catalogFS, "catalog/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []CatalogEntry
	for _, n := range names {
		l, err := LoadBuiltin(strings.TrimSuffix(path.Base(n), ".yaml"))
		if err != nil {
			return nil, err
		}
		out = append(out, CatalogEntry{Name: l.Name, Description: l.Description, Machines: len(l.Machines), Networks: len(l.Networks)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// LoadBuiltin loads a lab of the built-in catalog by name.
func LoadBuiltin(name string) (*Lab, error) {
	data, err := catalogFS.ReadFile("catalog/" + name + ".yaml")
	if err != nil {
		var valid []string
		entries, _ := fs.Glob(catalogFS, "catalog/*.yaml")
		for _, e := range entries {
			valid = append(valid, strings.TrimSuffix(path.Base(e), ".yaml"))
		}
		return nil, fmt.Errorf("no built-in lab %q (built-in: %s)", name, strings.Join(valid, ", "))
	}
	l, err := Load("catalog:"+name, data)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// BuiltinSource returns the YAML text of a built-in lab (for `lab show --source`
// and for trainers to copy).
func BuiltinSource(name string) ([]byte, error) {
	return catalogFS.ReadFile("catalog/" + name + ".yaml")
}

// Open loads a lab from a file path or, when no such file exists and the argument
// has no path separator, from the built-in catalog.
func Open(nameOrPath string) (*Lab, error) {
	if strings.ContainsRune(nameOrPath, '/') || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		return LoadFile(nameOrPath)
	}
	return LoadBuiltin(nameOrPath)
}
