package libvirt

import (
	"context"
	"fmt"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// Sweeper removes a candidate's objects from a KVM host by tailab's names and
// metadata tag, whoever made them: the terraform provider uses it
// (terraform.Sweeper) for what a Terraform run stopped mid-apply left
// outside its state.
type Sweeper struct{ URI string }

// Sweep removes the candidate's domains, volumes and networks and returns
// their names. The management network (candidate "") is not swept.
func (w Sweeper) Sweep(ctx context.Context, session, candidate string) ([]string, error) {
	if candidate == "" {
		return nil, fmt.Errorf("the management network %s is not swept: remove it by hand (virsh net-destroy, net-undefine) if a run left it", naming.MgmtNetworkName(session))
	}
	cfg := Config{QEMU: w.URI}
	cfg.Complete()
	p := New(cfg)
	defer p.Close()
	obs := &sweepObserver{}
	err := p.Destroy(ctx, &provision.Session{Name: session, Provider: Name}, []string{candidate}, obs)
	return obs.gone, err
}

// sweepObserver keeps the names of what was removed.
type sweepObserver struct{ gone []string }

func (o *sweepObserver) Event(e provision.Event) {
	if e.Resource != "" && e.Err == nil {
		o.gone = append(o.gone, e.Resource)
	}
}

func (o *sweepObserver) Machine(provision.MachineState) {}
