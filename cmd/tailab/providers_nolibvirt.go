//go:build nolibvirt

package main

import "github.com/tailab/tailab/provision"

// providers: this binary was built with -tags nolibvirt (no cgo, no libvirt):
// it validates labs and grades sessions, but provisions nothing.
func providers() *provision.Registry { return provision.NewRegistry() }
