//go:build !nolibvirt

package main

import (
	"context"
	"fmt"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
	"github.com/tailab/tailab/provision/terraform"
)

func init() {
	terraformSweeper = func(uri string) terraform.Sweeper { return libvirtSweeper{uri: uri} }
}

// libvirtSweeper removes a candidate's objects from the KVM host the
// Terraform runs target, through the libvirt provider (the same names and
// metadata tag: it finds them whether a Terraform state knows them or not).
type libvirtSweeper struct{ uri string }

func (l libvirtSweeper) Sweep(ctx context.Context, session, candidate string) ([]string, error) {
	if candidate == "" {
		return nil, fmt.Errorf("the management network %s is not swept: remove it by hand (virsh net-destroy, net-undefine) if a run left it", terraform.MgmtNetworkName(session))
	}
	p := libvirt.New(libvirt.Config{QEMU: l.uri})
	defer p.Close()
	obs := &sweepObserver{}
	s := &provision.Session{Name: session, Provider: libvirt.Name}
	if err := p.Destroy(ctx, s, []string{candidate}, obs); err != nil {
		return obs.gone, err
	}
	return obs.gone, nil
}

// sweepObserver keeps the names of what was removed.
type sweepObserver struct{ gone []string }

func (o *sweepObserver) Event(e provision.Event) {
	if e.Resource != "" && e.Err == nil {
		o.gone = append(o.gone, e.Resource)
	}
}

func (o *sweepObserver) Machine(provision.MachineState) {}
