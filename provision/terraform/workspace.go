package terraform

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/tailab/tailab/provision"
)

// workspace is a session workspace found in TFE.
type workspace struct {
	ID, Name, Candidate string
	Tags                []string
	Run                 *tfe.Run // current run, nil when none
}

// runSpec reads the module hash tailab put in a run's message.
func runSpec(r *tfe.Run) string {
	if r == nil {
		return ""
	}
	_, h, ok := strings.Cut(r.Message, " spec ")
	if !ok {
		return ""
	}
	return strings.Fields(h + " ")[0]
}

// runMessage is the message of the runs tailab queues.
func runMessage(verb, session, candidate, hash string) string {
	who := "candidate " + candidate
	if candidate == "" {
		who = "management network"
	}
	return fmt.Sprintf("tailab %s: session %s %s spec %s", verb, session, who, hash)
}

// listWorkspaces returns the session's workspaces (every tailab workspace when
// session is ""), by name, with their current run.
func (p *Provider) listWorkspaces(ctx context.Context, session string) (map[string]*workspace, error) {
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	tags := "tailab"
	if session != "" {
		tags += ",session:" + session
	}
	out := map[string]*workspace{}
	opts := &tfe.WorkspaceListOptions{Tags: tags, Include: []tfe.WSIncludeOpt{tfe.WSCurrentRun}, ListOptions: tfe.ListOptions{PageSize: 100}}
	for page := 1; ; page++ {
		opts.PageNumber = page
		var l *tfe.WorkspaceList
		err := p.call(ctx, fmt.Sprintf("list the workspaces of session %q in organization %q", session, p.cfg.Organization), func(ctx context.Context) error {
			var err error
			l, err = c.Workspaces.List(ctx, p.cfg.Organization, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, w := range l.Items {
			ws := &workspace{ID: w.ID, Name: w.Name, Tags: w.TagNames, Run: w.CurrentRun}
			for _, t := range w.TagNames {
				if v, ok := strings.CutPrefix(t, "candidate:"); ok {
					ws.Candidate = v
				}
			}
			if ws.Run != nil && ws.Run.Status == "" { // included without attributes: read it
				if err := p.call(ctx, "read run "+ws.Run.ID, func(ctx context.Context) error {
					var err error
					ws.Run, err = c.Runs.Read(ctx, ws.Run.ID)
					return err
				}); err != nil {
					return nil, err
				}
			}
			out[w.Name] = ws
		}
		if l.Pagination == nil || l.NextPage == 0 || l.NextPage <= page {
			return out, nil
		}
	}
}

// project resolves TFE_PROJECT (a name or an id) once.
func (p *Provider) project(ctx context.Context) (string, error) {
	if p.cfg.Project == "" || strings.HasPrefix(p.cfg.Project, "prj-") {
		return p.cfg.Project, nil
	}
	p.mu.Lock()
	id := p.projectID
	p.mu.Unlock()
	if id != "" {
		return id, nil
	}
	c, err := p.tfeClient()
	if err != nil {
		return "", err
	}
	var l *tfe.ProjectList
	if err := p.call(ctx, fmt.Sprintf("find project %q in organization %q", p.cfg.Project, p.cfg.Organization), func(ctx context.Context) error {
		l, err = c.Projects.List(ctx, p.cfg.Organization, &tfe.ProjectListOptions{Name: p.cfg.Project})
		return err
	}); err != nil {
		return "", err
	}
	for _, pr := range l.Items {
		if pr.Name == p.cfg.Project {
			p.mu.Lock()
			p.projectID = pr.ID
			p.mu.Unlock()
			return pr.ID, nil
		}
	}
	return "", fmt.Errorf("organization %q has no project %q (TFE_PROJECT): create it or name another", p.cfg.Organization, p.cfg.Project)
}

// ensureWorkspace returns the module's workspace, creating it (tagged) when missing.
func (p *Provider) ensureWorkspace(ctx context.Context, m *Module, ws *workspace) (*workspace, error) {
	if ws != nil {
		return ws, nil
	}
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	prj, err := p.project(ctx)
	if err != nil {
		return nil, err
	}
	var tags []*tfe.Tag
	for _, t := range m.Tags {
		tags = append(tags, &tfe.Tag{Name: t})
	}
	opts := tfe.WorkspaceCreateOptions{
		Name:        tfe.String(m.Workspace),
		Description: tfe.String("tailab: " + strings.Join(m.Tags[1:], " ")),
		AutoApply:   tfe.Bool(p.cfg.AutoApply),
		Tags:        tags,
	}
	if prj != "" {
		opts.Project = &tfe.Project{ID: prj}
	}
	if p.cfg.AgentPool != "" {
		opts.ExecutionMode, opts.AgentPoolID = tfe.String("agent"), tfe.String(p.cfg.AgentPool)
	}
	var w *tfe.Workspace
	status := 0
	cctx := tfe.ContextWithResponseHeaderHook(ctx, func(s int, _ http.Header) { status = s })
	w, err = c.Workspaces.Create(cctx, p.cfg.Organization, opts)
	if err != nil && status == http.StatusUnprocessableEntity {
		// Already there (made by hand, or by a run of tailab that stopped before
		// it could tag it): use it, and tag it.
		if rerr := p.call(ctx, fmt.Sprintf("read workspace %q", m.Workspace), func(ctx context.Context) error {
			var err error
			w, err = c.Workspaces.Read(ctx, p.cfg.Organization, m.Workspace)
			return err
		}); rerr != nil {
			return nil, p.explain(fmt.Sprintf("create workspace %q", m.Workspace), status, err)
		}
		if err := p.call(ctx, fmt.Sprintf("tag workspace %q", m.Workspace), func(ctx context.Context) error {
			return c.Workspaces.AddTags(ctx, w.ID, tfe.WorkspaceAddTagsOptions{Tags: tags})
		}); err != nil {
			return nil, err
		}
		err = nil
	}
	if err != nil {
		return nil, p.explain(fmt.Sprintf("create workspace %q", m.Workspace), status, err)
	}
	return &workspace{ID: w.ID, Name: w.Name, Candidate: m.Candidate, Tags: m.Tags, Run: w.CurrentRun}, nil
}

// variable is a workspace variable tailab sets.
type variable struct {
	Key, Value string
	Sensitive  bool
}

// ensureVars creates or updates the workspace's variables. Sensitive values
// cannot be read back, so they are always written.
func (p *Provider) ensureVars(ctx context.Context, ws *workspace, want []variable) error {
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	var l *tfe.VariableList
	if err := p.call(ctx, fmt.Sprintf("list the variables of workspace %q", ws.Name), func(ctx context.Context) error {
		l, err = c.Variables.List(ctx, ws.ID, &tfe.VariableListOptions{ListOptions: tfe.ListOptions{PageSize: 100}})
		return err
	}); err != nil {
		return err
	}
	have := map[string]*tfe.Variable{}
	for _, v := range l.Items {
		if v.Category == tfe.CategoryTerraform {
			have[v.Key] = v
		}
	}
	for _, v := range want {
		what := fmt.Sprintf("set variable %s of workspace %q", v.Key, ws.Name)
		old, ok := have[v.Key]
		switch {
		case !ok:
			err = p.call(ctx, what, func(ctx context.Context) error {
				_, err := c.Variables.Create(ctx, ws.ID, tfe.VariableCreateOptions{Key: tfe.String(v.Key), Value: tfe.String(v.Value),
					Category: tfe.Category(tfe.CategoryTerraform), Sensitive: tfe.Bool(v.Sensitive), HCL: tfe.Bool(false),
					Description: tfe.String("set by tailab")})
				return err
			})
		case v.Sensitive || old.Sensitive != v.Sensitive || old.Value != v.Value:
			err = p.call(ctx, what, func(ctx context.Context) error {
				_, err := c.Variables.Update(ctx, ws.ID, old.ID, tfe.VariableUpdateOptions{Value: tfe.String(v.Value), Sensitive: tfe.Bool(v.Sensitive)})
				return err
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// archive packs a module as the tar.gz a configuration version takes
// (deterministic: sorted names, fixed times).
func archive(m *Module) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, n := range m.FileNames() {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(m.Files[n])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.Files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, gz.Close()
}

// upload creates a configuration version (AutoQueueRuns false, so no run
// starts before tailab asks), uploads the module and waits until TFE has
// processed it ("uploaded"): a run created earlier fails.
func (p *Provider) upload(ctx context.Context, ws *workspace, m *Module, obs provision.Observer) (*tfe.ConfigurationVersion, error) {
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	var cv *tfe.ConfigurationVersion
	if err := p.call(ctx, fmt.Sprintf("create a configuration version in workspace %q", ws.Name), func(ctx context.Context) error {
		cv, err = c.ConfigurationVersions.Create(ctx, ws.ID, tfe.ConfigurationVersionCreateOptions{AutoQueueRuns: tfe.Bool(false)})
		return err
	}); err != nil {
		return nil, err
	}
	body, err := archive(m)
	if err != nil {
		return nil, err
	}
	if err := p.call(ctx, fmt.Sprintf("upload the module to configuration version %s", cv.ID), func(ctx context.Context) error {
		return c.ConfigurationVersions.UploadTarGzip(ctx, cv.UploadURL, body)
	}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for cv.Status != tfe.ConfigurationUploaded {
		switch cv.Status {
		case tfe.ConfigurationErrored:
			return nil, fmt.Errorf("configuration version %s of workspace %q errored: %s %s", cv.ID, ws.Name, cv.Error, cv.ErrorMessage)
		case tfe.ConfigurationArchived:
			return nil, fmt.Errorf("configuration version %s of workspace %q was archived", cv.ID, ws.Name)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("configuration version %s of workspace %q still %q after 5 minutes", cv.ID, ws.Name, cv.Status)
		}
		if err := sleep(ctx, p.cfg.PollInterval); err != nil {
			return nil, p.explain("wait for configuration version "+cv.ID, 0, err)
		}
		if err := p.call(ctx, "read configuration version "+cv.ID, func(ctx context.Context) error {
			cv, err = c.ConfigurationVersions.Read(ctx, cv.ID)
			return err
		}); err != nil {
			return nil, err
		}
	}
	obs.Event(provision.Event{Time: time.Now(), Candidate: ws.Candidate, Resource: ws.Name, What: "configuration uploaded (" + cv.ID + ")"})
	return cv, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errNoWorkspace: a workspace vanished between listing and use.
var errNoWorkspace = errors.New("workspace not found")
