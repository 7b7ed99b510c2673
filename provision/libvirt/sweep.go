package libvirt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	lv "libvirt.org/go/libvirt"

	"github.com/tailab/tailab/provision/naming"
)

// Sweeper removes a candidate's objects from a KVM host by tailab's names,
// whoever made them: the terraform provider uses it (terraform.Sweeper) for
// what a Terraform run stopped mid-apply left outside its state. Such a lab
// is QEMU domains, volumes in Pool (disks, cloud-init ISOs) and networks
// only: its containers are small VMs there, and a volume the run created
// before its domain belongs to no domain yet. So the sweep goes by name over
// the QEMU URI alone, unlike the libvirt provider's Destroy (which also
// needs the LXC URI and the provider's own pool and directories).
type Sweeper struct {
	URI  string // the KVM host's QEMU URI (TAILAB_TF_LIBVIRT_URI)
	Pool string // the pool holding the lab's volumes (TAILAB_TF_POOL; default "default")
}

// Sweep removes the candidate's domains, then volumes, then networks and
// returns their names. The management network (candidate "") is not swept:
// every candidate's lab uses it.
func (w Sweeper) Sweep(ctx context.Context, session, candidate string) ([]string, error) {
	if candidate == "" {
		return nil, fmt.Errorf("the management network %s is not swept: remove it by hand (virsh net-destroy, net-undefine) if a run left it", naming.MgmtNetworkName(session))
	}
	c, err := lv.NewConnect(w.URI)
	if err != nil {
		return nil, fmt.Errorf("connect to libvirt at %s: %w", w.URI, err)
	}
	defer c.Close()
	mine := func(name string) bool {
		s, cand, _, ok := naming.ParseName(name)
		return ok && s == session && cand == candidate
	}
	var gone []string
	var errs []error
	note := func(name string, err error) {
		if err != nil {
			errs = append(errs, err)
		} else {
			gone = append(gone, name)
		}
	}

	doms, err := c.ListAllDomains(0)
	if err != nil {
		return nil, fmt.Errorf("list domains at %s: %w", w.URI, err)
	}
	for i := range doms {
		if name, err := doms[i].GetName(); err == nil && mine(name) {
			note(name, sweepDomain(&doms[i], name))
		}
		doms[i].Free()
	}

	poolName := cmp.Or(w.Pool, "default")
	if pool, err := c.LookupStoragePoolByName(poolName); err == nil {
		vols, err := pool.ListAllStorageVolumes(0)
		if err != nil {
			errs = append(errs, fmt.Errorf("list the volumes of pool %s: %w", poolName, err))
		}
		for i := range vols {
			if name, err := vols[i].GetName(); err == nil && mine(name) {
				if err := vols[i].Delete(0); err != nil && !isNotFound(err) {
					note(name, fmt.Errorf("volume %s: delete: %w", name, err))
				} else {
					note(name, nil)
				}
			}
			vols[i].Free()
		}
		pool.Free()
	} else if !isNotFound(err) {
		errs = append(errs, fmt.Errorf("pool %s: %w", poolName, err))
	}

	nets, err := c.ListAllNetworks(0)
	if err != nil {
		return gone, errors.Join(append(errs, fmt.Errorf("list networks at %s: %w", w.URI, err))...)
	}
	var names []string
	for i := range nets {
		if name, err := nets[i].GetName(); err == nil && mine(name) {
			names = append(names, name)
		}
		nets[i].Free()
	}
	for _, name := range slices.Sorted(slices.Values(names)) {
		note(name, untimed.destroyNetwork(c, name))
	}
	return gone, errors.Join(errs...)
}

// sweepDomain stops and undefines a QEMU domain (its snapshots' metadata and
// NVRAM too); absent is fine.
func sweepDomain(d *lv.Domain, name string) error {
	if err := d.Destroy(); err != nil && !isNotRunning(err) && !isNotFound(err) {
		return fmt.Errorf("domain %s: stop: %w", name, err)
	}
	flags := lv.DOMAIN_UNDEFINE_MANAGED_SAVE | lv.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | lv.DOMAIN_UNDEFINE_NVRAM
	err := d.UndefineFlags(flags)
	var le lv.Error
	if errors.As(err, &le) && (le.Code == lv.ERR_INVALID_ARG || le.Code == lv.ERR_NO_SUPPORT) {
		err = d.Undefine() // a driver that takes no such flags
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("domain %s: undefine: %w", name, err)
	}
	return nil
}

// untimed is no provider: what the sweep shares with one, untimed.
var untimed *Provider
