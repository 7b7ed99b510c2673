package libvirt

import (
	"context"
	"fmt"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// hostViews groups instances by the host their machines are on (multi-host):
// access, snapshots and reset act where the candidate's lab is, not on the
// first host. A candidate found on no host is looked for on the first one
// (its machines are missing: the caller reports them so).
func (p *Provider) hostViews(s *provision.Session, ins []*labs.Instance) ([]*Provider, [][]*labs.Instance, error) {
	if !p.multi() {
		return []*Provider{p}, [][]*labs.Instance{ins}, nil
	}
	_, specs, err := p.specs(s, ins)
	if err != nil {
		return nil, nil, err
	}
	typs := types(specs)
	if len(typs) == 0 {
		typs = []string{"lxc"}
	}
	placed, err := p.placement(typs, s.Name)
	if err != nil {
		return nil, nil, err
	}
	hosts := p.hosts()
	idx := map[string]int{}
	var views []*Provider
	var groups [][]*labs.Instance
	for _, in := range ins {
		name, ok := placed[in.Candidate.ID]
		if !ok {
			name = hosts[0].Name
		}
		i, seen := idx[name]
		if !seen {
			i = len(views)
			idx[name] = i
			views = append(views, p.on(p.host(name)))
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], in)
	}
	return views, groups, nil
}

// hostView is the provider bound to the host of one candidate's lab.
func (p *Provider) hostView(s *provision.Session, in *labs.Instance) (*Provider, error) {
	views, _, err := p.hostViews(s, []*labs.Instance{in})
	if err != nil {
		return nil, err
	}
	if len(views) != 1 {
		return nil, fmt.Errorf("candidate %s: no host", in.Candidate.ID)
	}
	return views[0], nil
}

// accessHosts is Access over several hosts, in the order of ins.
func (p *Provider) accessHosts(ctx context.Context, s *provision.Session, ins []*labs.Instance) ([]provision.MachineAccess, error) {
	views, groups, err := p.hostViews(s, ins)
	if err != nil {
		return nil, err
	}
	got := map[string][]provision.MachineAccess{}
	for i, v := range views {
		as, err := v.Access(ctx, s, groups[i])
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", v.hostName, err)
		}
		for _, a := range as {
			got[a.Candidate] = append(got[a.Candidate], a)
		}
	}
	var out []provision.MachineAccess
	for _, in := range ins {
		out = append(out, got[in.Candidate.ID]...)
	}
	return out, nil
}
