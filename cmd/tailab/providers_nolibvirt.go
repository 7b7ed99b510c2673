//go:build nolibvirt

package main

import (
	"errors"

	"github.com/tailab/tailab/provision"
)

// providers: this binary was built with -tags nolibvirt (no cgo, no libvirt):
// it validates labs and grades sessions, and provisions only through the
// back-ends that need no cgo (terraform).
func providers() *provision.Registry {
	r := provision.NewRegistry()
	r.Register("libvirt", func(map[string]string) (provision.Provider, error) {
		return nil, errors.New("this tailab was built without the libvirt provider (-tags nolibvirt): it validates labs, grades sessions and provisions with --provider terraform only")
	})
	for _, f := range extraProviders {
		f(r)
	}
	return r
}
