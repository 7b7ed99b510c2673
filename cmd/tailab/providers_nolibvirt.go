//go:build nolibvirt

package main

import (
	"errors"

	"github.com/tailab/tailab/provision"
)

// libvirtProvider: built with -tags nolibvirt (no cgo), this binary has none.
func libvirtProvider(*globalOptions) provision.Factory {
	return func() (provision.Provider, error) {
		return nil, errors.New("this tailab was built without the libvirt provider (-tags nolibvirt): it validates labs, grades sessions and provisions with --provider terraform only")
	}
}
