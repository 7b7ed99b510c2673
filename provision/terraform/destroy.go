package terraform

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

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

// destroyWorkspace ends a run in progress (discarding one that waits for
// confirmation, canceling one stuck), queues a destroy run, follows it and
// deletes the workspace: safe-delete where the server has it (TFE refuses
// while the state holds resources), else delete once the destroy run has
// emptied the state. The workspace is read back: gone, or an error.
func (p *Provider) destroyWorkspace(ctx context.Context, session string, ws *workspace) error {
	start := time.Now()
	if r := ws.Run; r != nil && !runDone(r) {
		if r.Actions != nil && r.Actions.IsConfirmable {
			// Waiting for confirmation: discard it (and never confirm it).
			if err := p.cancelRun(ctx, ws, r); err != nil {
				return err
			}
		} else {
			p.event(ws, fmt.Sprintf("waiting for run %s (%s) to end", r.ID, r.Status), nil, 0)
			r, err := p.follow(ctx, ws, r, false)
			var stuck *StuckError
			switch {
			case errors.As(err, &stuck):
				if err := p.cancelRun(ctx, ws, r); err != nil {
					return err
				}
			case err != nil && !runFailed[r.Status]:
				return err
			}
		}
	}
	if err := p.sweep(ctx, session, ws); err != nil {
		return err
	}
	emptied := ws.Run == nil
	if ws.Run != nil {
		r, err := p.queueRun(ctx, ws, nil, runMessage("down", session, ws.Candidate, "-"), true)
		if err != nil {
			return err
		}
		if r, err = p.follow(ctx, ws, r, true); err != nil {
			return fmt.Errorf("destroy: %w (the workspace is kept: fix the cause and run tailab down again)", err)
		}
		emptied = runSucceeded[r.Status]
	}
	if err := p.deleteWorkspace(ctx, ws, emptied); err != nil {
		return err
	}
	p.event(ws, "workspace deleted", nil, time.Since(start))
	return nil
}

// deleteWorkspace deletes a workspace and reads it back gone. Safe-delete
// first (TFE); a 404 on it means no such route (OTF) or no such workspace
// any more, which a read tells apart; without the route, the workspace is
// deleted when emptied (a destroy run succeeded, or it never ran).
func (p *Provider) deleteWorkspace(ctx context.Context, ws *workspace, emptied bool) error {
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	what := fmt.Sprintf("delete workspace %q", ws.Name)
	if !p.noSafeDelete.Load() {
		err := p.call(ctx, what, func(ctx context.Context) error { return c.Workspaces.SafeDeleteByID(ctx, ws.ID) })
		var ae *APIError
		switch {
		case err == nil:
			return p.gone(ctx, ws)
		case !errors.As(err, &ae) || ae.Status != http.StatusNotFound:
			return err
		}
		if exists, rerr := p.exists(ctx, ws); rerr != nil || !exists {
			return rerr // gone already: deleted by someone else, or a previous down
		}
		p.noSafeDelete.Store(true) // there, but the action is not: the server has no safe-delete
	}
	if !emptied {
		return fmt.Errorf("%s: its destroy run did not succeed, and this server has no safe-delete to check the state is empty: "+
			"the workspace is kept (fix the cause and run tailab down again)", what)
	}
	if err := p.call(ctx, what, func(ctx context.Context) error { return c.Workspaces.DeleteByID(ctx, ws.ID) }); err != nil {
		return err
	}
	return p.gone(ctx, ws)
}

// exists reads a workspace by id: false on 404.
func (p *Provider) exists(ctx context.Context, ws *workspace) (bool, error) {
	c, err := p.tfeClient()
	if err != nil {
		return false, err
	}
	err = p.read(ctx, fmt.Sprintf("read workspace %q back", ws.Name), func(ctx context.Context) error {
		_, err := c.Workspaces.ReadByID(ctx, ws.ID)
		return err
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// gone checks that a deleted workspace reads back as gone.
func (p *Provider) gone(ctx context.Context, ws *workspace) error {
	exists, err := p.exists(ctx, ws)
	if err == nil && exists {
		err = fmt.Errorf("workspace %q (%s) still exists after its deletion was accepted: delete it on the server, then run tailab down again", ws.Name, ws.ID)
	}
	return err
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
		if sess := wsSession(ws); sess != "" && !keep[sess] {
			out = append(out, provision.Resource{Type: "workspace", Name: name, Candidate: ws.Candidate, Host: p.cfg.Address})
		}
	}
	return out, nil
}

// RemoveOrphans destroys and deletes workspaces listed by Orphans: the labs'
// workspaces first, Parallel at once, then the management workspace of each
// session whose labs are all gone (their domains use its network), as down
// does.
func (p *Provider) RemoveOrphans(ctx context.Context, rs []provision.Resource) error {
	found, err := p.listWorkspaces(ctx, "")
	if err != nil {
		return err
	}
	var labWS, mgmt []*workspace
	for _, r := range rs {
		if ws, ok := found[r.Name]; ok && r.Type == "workspace" {
			if ws.Candidate == "" {
				mgmt = append(mgmt, ws)
			} else {
				labWS = append(labWS, ws)
			}
		}
	}
	var mu sync.Mutex
	failed := map[string]bool{} // sessions with a lab workspace left
	destroy := func(ws *workspace) error {
		err := p.destroyWorkspace(ctx, wsSession(ws), ws)
		if err != nil {
			mu.Lock()
			failed[wsSession(ws)] = true
			mu.Unlock()
		}
		return err
	}
	errs := []error{p.each(ctx, labWS, destroy)}
	mgmt = slices.DeleteFunc(mgmt, func(ws *workspace) bool { return failed[wsSession(ws)] })
	return errors.Join(append(errs, p.each(ctx, mgmt, destroy))...)
}

// wsSession is the session a workspace is tagged with, "" for none (then
// it is nobody's orphan).
func wsSession(ws *workspace) string {
	for _, t := range ws.Tags {
		if v, ok := strings.CutPrefix(t, "session:"); ok {
			return v
		}
	}
	return ""
}
