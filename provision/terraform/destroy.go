package terraform

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/tailab/tailab/provision"
)

// Destroy queues a destroy run in every workspace of the session (or of the
// listed candidates), follows them, then deletes the workspaces; the
// management workspace goes last, with the whole session only.
func (p *Provider) Destroy(ctx context.Context, s *provision.Session, candidates []string, obs provision.Observer) error {
	if !p.configured() {
		return ErrNotConfigured
	}
	p.obs = obs
	found, err := p.listWorkspaces(ctx, s.Name)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, c := range candidates {
		want[c] = true
	}
	var labWS []*workspace
	var mgmt *workspace
	for _, name := range slices.Sorted(maps.Keys(found)) {
		ws := found[name]
		switch {
		case ws.Candidate == "" && name == MgmtWorkspaceName(s.Name):
			mgmt = ws
		case ws.Candidate != "" && (len(want) == 0 || want[ws.Candidate]):
			labWS = append(labWS, ws)
		}
	}
	sem := make(chan struct{}, p.cfg.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, ws := range labWS {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := p.destroyWorkspace(ctx, s.Name, ws); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 && len(want) == 0 && mgmt != nil {
		if err := p.destroyWorkspace(ctx, s.Name, mgmt); err != nil {
			errs = append(errs, err)
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// destroyWorkspace lets a run in progress end (discarding one that waits for
// confirmation), queues a destroy run, follows it and deletes the workspace
// (safe-delete: TFE refuses while the state still holds resources).
func (p *Provider) destroyWorkspace(ctx context.Context, session string, ws *workspace) error {
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	start := time.Now()
	if ws.Run != nil && !runDone(ws.Run) {
		if ws.Run.Actions != nil && ws.Run.Actions.IsDiscardable {
			if err := p.call(ctx, fmt.Sprintf("discard run %s of workspace %q", ws.Run.ID, ws.Name), func(ctx context.Context) error {
				return c.Runs.Discard(ctx, ws.Run.ID, tfe.RunDiscardOptions{Comment: tfe.String("tailab down")})
			}); err != nil {
				return err
			}
		}
		p.event(ws, fmt.Sprintf("waiting for run %s (%s) to end", ws.Run.ID, ws.Run.Status), nil, 0)
		if r, err := p.follow(ctx, ws, ws.Run); err != nil && !runFailed[r.Status] {
			return err
		}
	}
	if ws.Run != nil {
		r, err := p.queueRun(ctx, ws, nil, runMessage("down", session, ws.Candidate, "-"), true)
		if err != nil {
			return err
		}
		if _, err := p.follow(ctx, ws, r); err != nil {
			return fmt.Errorf("destroy: %w (the workspace is kept: fix the cause and run tailab down again)", err)
		}
	}
	if err := p.call(ctx, fmt.Sprintf("delete workspace %q", ws.Name), func(ctx context.Context) error {
		return c.Workspaces.SafeDeleteByID(ctx, ws.ID)
	}); err != nil && !errors.Is(err, tfe.ErrResourceNotFound) {
		return err
	}
	p.event(ws, "workspace deleted", nil, time.Since(start))
	return nil
}

// Orphans lists the tailab workspaces whose session is not in keep.
func (p *Provider) Orphans(ctx context.Context, keep map[string]bool) ([]provision.Resource, error) {
	if !p.configured() {
		return nil, nil
	}
	found, err := p.listWorkspaces(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []provision.Resource
	for _, name := range slices.Sorted(maps.Keys(found)) {
		ws := found[name]
		sess := ""
		for _, t := range ws.Tags {
			if v, ok := strings.CutPrefix(t, "session:"); ok {
				sess = v
			}
		}
		if sess != "" && !keep[sess] {
			out = append(out, provision.Resource{Type: "workspace", Name: name, Candidate: ws.Candidate, Host: p.cfg.Address})
		}
	}
	return out, nil
}

// RemoveOrphans destroys and deletes workspaces listed by Orphans.
func (p *Provider) RemoveOrphans(ctx context.Context, rs []provision.Resource) error {
	found, err := p.listWorkspaces(ctx, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if ws, ok := found[r.Name]; ok && r.Type == "workspace" {
			sess, _, _ := strings.Cut(strings.TrimPrefix(r.Name, Prefix), "_")
			errs = append(errs, p.destroyWorkspace(ctx, sess, ws))
		}
	}
	return errors.Join(errs...)
}
