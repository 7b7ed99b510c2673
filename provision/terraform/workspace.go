package terraform

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	// Vars are its variables by key (terraform and env), once read.
	Vars map[string]*tfe.Variable
}

// specVar is the workspace variable (category env: Terraform ignores it)
// saying which module a configuration version holds: "CV-ID HASH". Servers
// keep variables and a run's configuration version; some drop a run's
// message (OTF), so that is not where the hash lives.
const specVar = "TAILAB_SPEC"

// runSpec is the hash of the module the workspace's current run applies:
// the spec variable's, when the run is of the configuration version it
// names; "" when unknown (another module, or a destroy run).
func (ws *workspace) runSpec() string {
	if ws == nil || ws.Run == nil || ws.Run.IsDestroy || ws.Run.ConfigurationVersion == nil {
		return ""
	}
	v := ws.Vars[specVar]
	if v == nil {
		return ""
	}
	cv, hash, ok := strings.Cut(strings.TrimSpace(v.Value), " ")
	if !ok || cv != ws.Run.ConfigurationVersion.ID {
		return ""
	}
	return hash
}

// runID is the id of the workspace's current run as last seen, "" for none.
func (ws *workspace) runID() string {
	if ws.Run == nil {
		return ""
	}
	return ws.Run.ID
}

// specValue is the spec variable's value for a configuration version.
func specValue(cvID, hash string) string { return cvID + " " + hash }

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
		err := p.read(ctx, fmt.Sprintf("list the workspaces of session %q in organization %q", session, p.cfg.Organization), func(ctx context.Context) error {
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
			if ws.Run != nil && ws.Run.Status == "" { // included without attributes (OTF ignores include): read it
				if err := p.read(ctx, "read run "+ws.Run.ID, func(ctx context.Context) error {
					var err error
					r, err := c.Runs.Read(ctx, ws.Run.ID)
					if err == nil {
						ws.Run = r
					}
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

// project resolves TFE_PROJECT (a name or an id) once. An id is read back:
// a server without projects (OTF) would ignore it silently.
func (p *Provider) project(ctx context.Context) (string, error) {
	if p.cfg.Project == "" {
		return "", nil
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
	noProject := func(err error) error {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			ae.Hint = fmt.Sprintf("organization %q has no project %q, or this server has no projects at all (OTF): fix or unset TFE_PROJECT", p.cfg.Organization, p.cfg.Project)
		}
		return err
	}
	if strings.HasPrefix(p.cfg.Project, "prj-") {
		if err := p.read(ctx, fmt.Sprintf("read project %s (TFE_PROJECT)", p.cfg.Project), func(ctx context.Context) error {
			_, err := c.Projects.Read(ctx, p.cfg.Project)
			return err
		}); err != nil {
			return "", noProject(err)
		}
		p.mu.Lock()
		p.projectID = p.cfg.Project
		p.mu.Unlock()
		return p.cfg.Project, nil
	}
	var l *tfe.ProjectList
	if err := p.read(ctx, fmt.Sprintf("find project %q in organization %q", p.cfg.Project, p.cfg.Organization), func(ctx context.Context) error {
		l, err = c.Projects.List(ctx, p.cfg.Organization, &tfe.ProjectListOptions{Name: p.cfg.Project})
		return err
	}); err != nil {
		return "", noProject(err)
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
	what := fmt.Sprintf("create workspace %q", m.Workspace)
	err = p.call(ctx, what, func(ctx context.Context) error {
		var err error
		w, err = c.Workspaces.Create(ctx, p.cfg.Organization, opts)
		return err
	})
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusConflict || ae.Status == http.StatusUnprocessableEntity) {
		// The name is taken (TFE answers 422, OTF 409; a 422 may also be
		// another invalid attribute): adopt the workspace if it is this
		// one of tailab's, as a concurrent or interrupted up leaves it.
		if w, err = p.adopt(ctx, m, ae); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return &workspace{ID: w.ID, Name: w.Name, Candidate: m.Candidate, Tags: m.Tags, Run: w.CurrentRun}, nil
}

// adopt reads the workspace named as m's and returns it when its tags say
// it is m's (tailab, its session, its candidate or role); else createErr,
// with a hint that says so.
func (p *Provider) adopt(ctx context.Context, m *Module, createErr *APIError) (*tfe.Workspace, error) {
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	var w *tfe.Workspace
	if err := p.read(ctx, fmt.Sprintf("read workspace %q", m.Workspace), func(ctx context.Context) error {
		var err error
		w, err = c.Workspaces.Read(ctx, p.cfg.Organization, m.Workspace)
		return err
	}); err != nil {
		return nil, createErr // not a taken name: the 422 was about something else
	}
	for _, t := range m.Tags[:3] { // tailab, session:S, candidate:C or role:mgmt
		if !slices.Contains(w.TagNames, t) {
			createErr.Hint = fmt.Sprintf("a workspace %q exists and is not tailab's for this session (tags %v, want %v): rename or delete it, or choose another session name",
				m.Workspace, w.TagNames, m.Tags[:3])
			return nil, createErr
		}
	}
	p.event(&workspace{Name: w.Name, Candidate: m.Candidate}, "workspace exists: adopted (tags "+strings.Join(m.Tags[:3], ",")+")", nil, 0)
	return w, nil
}

// variable is a workspace variable tailab sets.
type variable struct {
	Key, Value string
	Sensitive  bool
	Env        bool // an environment variable of the run (category env)
}

// readVars reads the workspace's variables (terraform and env) once.
func (p *Provider) readVars(ctx context.Context, ws *workspace) error {
	if ws.Vars != nil {
		return nil
	}
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	var l *tfe.VariableList
	if err := p.read(ctx, fmt.Sprintf("list the variables of workspace %q", ws.Name), func(ctx context.Context) error {
		l, err = c.Variables.List(ctx, ws.ID, &tfe.VariableListOptions{ListOptions: tfe.ListOptions{PageSize: 100}})
		return err
	}); err != nil {
		return err
	}
	ws.Vars = map[string]*tfe.Variable{}
	for _, v := range l.Items {
		if v.Category == tfe.CategoryTerraform || v.Category == tfe.CategoryEnv {
			ws.Vars[v.Key] = v
		}
	}
	return nil
}

// ensureVars creates or updates the workspace's variables. Sensitive values
// cannot be read back, so they are always written; other values are compared
// trimmed, as some servers (OTF) store them.
func (p *Provider) ensureVars(ctx context.Context, ws *workspace, want []variable) error {
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	if err := p.readVars(ctx, ws); err != nil {
		return err
	}
	for _, v := range want {
		cat := tfe.CategoryTerraform
		if v.Env {
			cat = tfe.CategoryEnv
		}
		what := fmt.Sprintf("set variable %s of workspace %q", v.Key, ws.Name)
		old, ok := ws.Vars[v.Key]
		var nv *tfe.Variable
		switch {
		case !ok || old.Category != cat:
			err = p.call(ctx, what, func(ctx context.Context) error {
				nv, err = c.Variables.Create(ctx, ws.ID, tfe.VariableCreateOptions{Key: tfe.String(v.Key), Value: tfe.String(v.Value),
					Category: tfe.Category(cat), Sensitive: tfe.Bool(v.Sensitive), HCL: tfe.Bool(false),
					Description: tfe.String("set by tailab")})
				return err
			})
		case v.Sensitive || old.Sensitive != v.Sensitive || strings.TrimSpace(old.Value) != strings.TrimSpace(v.Value):
			err = p.call(ctx, what, func(ctx context.Context) error {
				nv, err = c.Variables.Update(ctx, ws.ID, old.ID, tfe.VariableUpdateOptions{Value: tfe.String(v.Value), Sensitive: tfe.Bool(v.Sensitive)})
				return err
			})
		}
		if err != nil {
			return err
		}
		if nv != nil {
			ws.Vars[v.Key] = nv
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
	// Say which module this configuration version holds before anything
	// can run it: a run of it is then recognised whatever happens next.
	if err := p.ensureVars(ctx, ws, []variable{{Key: specVar, Value: specValue(cv.ID, m.Hash), Env: true}}); err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		err := p.call(ctx, fmt.Sprintf("upload the module to configuration version %s", cv.ID), func(ctx context.Context) error {
			return c.ConfigurationVersions.UploadTarGzip(ctx, cv.UploadURL, bytes.NewReader(body.Bytes()))
		})
		if err == nil || !lostAnswer(err) || try == 3 {
			if err != nil {
				return nil, err
			}
			break
		}
		// The connection broke before the answer: whether the upload landed
		// shows in the configuration version's status.
		if cv, err = p.readCV(ctx, c, cv); err != nil {
			return nil, err
		}
		if cv.Status != tfe.ConfigurationPending {
			break
		}
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
		if cv, err = p.readCV(ctx, c, cv); err != nil {
			return nil, err
		}
	}
	obs.Event(provision.Event{Time: time.Now(), Candidate: ws.Candidate, Resource: ws.Name, What: "configuration uploaded (" + cv.ID + ")"})
	return cv, nil
}

// readCV reads a configuration version again.
func (p *Provider) readCV(ctx context.Context, c *tfe.Client, cv *tfe.ConfigurationVersion) (*tfe.ConfigurationVersion, error) {
	err := p.read(ctx, "read configuration version "+cv.ID, func(ctx context.Context) error {
		nc, err := c.ConfigurationVersions.Read(ctx, cv.ID)
		if err == nil {
			cv = nc
		}
		return err
	})
	return cv, err
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
