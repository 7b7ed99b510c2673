//go:build !nolibvirt

package main

import (
	"github.com/tailab/tailab/provision/libvirt"
	"github.com/tailab/tailab/provision/terraform"
)

func init() {
	terraformSweeper = func(uri, pool string) terraform.Sweeper { return libvirt.Sweeper{URI: uri, Pool: pool} }
}
