package tfe

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	tfe "github.com/hashicorp/go-tfe"
)

// doc is a JSON:API request document.
type doc struct {
	Data struct {
		Type          string                     `json:"type"`
		Attributes    map[string]json.RawMessage `json:"attributes"`
		Relationships map[string]struct {
			Data json.RawMessage `json:"data"`
		} `json:"relationships"`
	} `json:"data"`
}

type relNode struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Attributes map[string]any `json:"attributes"`
}

func (d *doc) str(key string) (string, bool) {
	raw, ok := d.Data.Attributes[key]
	if !ok {
		return "", false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

func (d *doc) boolean(key string) (bool, bool) {
	raw, ok := d.Data.Attributes[key]
	if !ok {
		return false, false
	}
	var v bool
	return v, json.Unmarshal(raw, &v) == nil
}

func (d *doc) rel(key string) []relNode {
	r, ok := d.Data.Relationships[key]
	if !ok {
		return nil
	}
	var many []relNode
	if json.Unmarshal(r.Data, &many) == nil {
		return many
	}
	var one relNode
	if json.Unmarshal(r.Data, &one) == nil && one.ID != "" {
		return []relNode{one}
	}
	return nil
}

func parts(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	var d doc
	if len(body) > 0 && r.Method != http.MethodPut {
		_ = json.Unmarshal(body, &d)
	}
	p := parts(r.URL.Path)
	if p[0] == "_archivist" {
		s.archivist(w, r, p)
		return
	}
	if len(p) < 3 || p[0] != "api" || p[1] != "v2" {
		notFound(w)
		return
	}
	p = p[2:]
	s.mu.Lock()
	defer s.mu.Unlock()
	m := r.Method
	switch {
	case len(p) == 1 && p[0] == "ping":
		w.WriteHeader(http.StatusNoContent)
	case p[0] == "organizations" && len(p) == 2 && m == "GET":
		if p[1] != s.Org {
			notFound(w)
			return
		}
		writeDoc(w, 200, &tfe.Organization{Name: s.Org}, nil)
	case p[0] == "organizations" && len(p) >= 3 && p[1] != s.Org:
		notFound(w)
	case (p[0] == "organizations" && len(p) == 3 && p[2] == "projects" || p[0] == "projects") && s.Dialect == OTF:
		noRoute(w) // OTF has no projects
	case p[0] == "projects" && len(p) == 2 && m == "GET":
		name, ok := s.projects[p[1]]
		if !ok {
			notFound(w)
			return
		}
		writeDoc(w, 200, &tfe.Project{ID: p[1], Name: name}, nil)
	case p[0] == "organizations" && len(p) == 3 && p[2] == "projects" && m == "GET":
		var out []*tfe.Project
		want := r.URL.Query().Get("filter[names]")
		for id, name := range s.projects {
			if want == "" || want == name {
				out = append(out, &tfe.Project{ID: id, Name: name})
			}
		}
		writeDoc(w, 200, out, pagination(1, 1, len(out)))
	case p[0] == "organizations" && len(p) == 3 && p[2] == "workspaces" && m == "GET":
		s.listWorkspaces(w, r)
	case p[0] == "organizations" && len(p) == 3 && p[2] == "workspaces" && m == "POST":
		s.createWorkspace(w, &d)
	case p[0] == "organizations" && len(p) == 4 && p[2] == "workspaces" && m == "GET":
		for _, ws := range s.ws {
			if ws.Name == p[3] {
				writeDoc(w, 200, s.wsModel(ws, false), nil)
				return
			}
		}
		notFound(w)
	case p[0] == "workspaces" && len(p) >= 2:
		ws, ok := s.ws[p[1]]
		if !ok {
			notFound(w)
			return
		}
		s.workspaceRoutes(w, r, &d, ws, p[2:])
	case p[0] == "configuration-versions" && len(p) == 2 && m == "GET":
		c, ok := s.cvs[p[1]]
		if !ok {
			notFound(w)
			return
		}
		if c.Status == tfe.ConfigurationFetching {
			c.reads++
			if c.reads >= 2 { // processing takes a read or two
				c.Status = tfe.ConfigurationUploaded
			}
		}
		writeDoc(w, 200, s.cvModel(c), nil)
	case p[0] == "runs" && len(p) == 1 && m == "POST":
		s.createRun(w, &d)
	case p[0] == "runs" && len(p) == 2 && m == "GET":
		rn, ok := s.runs[p[1]]
		if !ok {
			notFound(w)
			return
		}
		s.advance(rn)
		writeDoc(w, 200, s.runDoc(rn), nil)
	case p[0] == "runs" && len(p) == 4 && p[2] == "actions" && m == "POST":
		s.runAction(w, p[1], p[3])
	case (p[0] == "plans" || p[0] == "applies") && len(p) == 2 && m == "GET":
		id := strings.TrimPrefix(strings.TrimPrefix(p[1], "plan-"), "apply-")
		rn, ok := s.runs["run-"+id]
		if !ok {
			notFound(w)
			return
		}
		rm := s.runModel(rn)
		if s.Dialect == OTF { // OTF never serialises the resource counts (its report lacks jsonapi tags)
			rm.Plan.ResourceAdditions, rm.Plan.ResourceChanges, rm.Plan.ResourceDestructions = 0, 0, 0
			rm.Apply.ResourceAdditions, rm.Apply.ResourceChanges, rm.Apply.ResourceDestructions = 0, 0, 0
		}
		if p[0] == "plans" {
			writeDoc(w, 200, rm.Plan, nil)
		} else {
			writeDoc(w, 200, rm.Apply, nil)
		}
	default:
		notFound(w)
	}
}

func pagination(page, pages, total int) map[string]any {
	next := 0
	if page < pages {
		next = page + 1
	}
	return map[string]any{"pagination": map[string]any{"current-page": page, "prev-page": page - 1, "next-page": next, "total-pages": pages, "total-count": total}}
}

func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var want []string
	if t := q.Get("search[tags]"); t != "" {
		want = strings.Split(t, ",")
	}
	name := q.Get("search[name]")
	include := strings.Contains(q.Get("include"), "current_run") && s.Dialect != OTF
	var all []*tfe.Workspace
	for _, id := range sortedIDs(s.ws) {
		ws := s.ws[id]
		if name != "" && !strings.Contains(ws.Name, name) || !hasAll(ws.Tags, want) {
			continue
		}
		all = append(all, s.wsModel(ws, include))
	}
	size, _ := strconv.Atoi(q.Get("page[size]"))
	if size <= 0 {
		size = 20
	}
	page, _ := strconv.Atoi(q.Get("page[number]"))
	page = max(page, 1)
	pages := max((len(all)+size-1)/size, 1)
	lo, hi := min((page-1)*size, len(all)), min(page*size, len(all))
	writeDoc(w, 200, all[lo:hi], pagination(page, pages, len(all)))
}

func hasAll(have, want []string) bool {
	for _, t := range want {
		found := false
		for _, h := range have {
			found = found || h == t
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) createWorkspace(w http.ResponseWriter, d *doc) {
	name, _ := d.str("name")
	if name == "" {
		unprocessable(w, "Name can't be blank")
		return
	}
	for _, ws := range s.ws {
		if ws.Name == name {
			s.nameTaken(w)
			return
		}
	}
	ws := &workspace{ID: s.id("ws"), Name: name, Project: "prj-default"}
	ws.Description, _ = d.str("description")
	ws.AutoApply, _ = d.boolean("auto-apply")
	for _, t := range d.rel("tags") {
		if n, _ := t.Attributes["name"].(string); n != "" {
			ws.Tags = append(ws.Tags, n)
		}
	}
	if pr := d.rel("project"); len(pr) == 1 && s.Dialect != OTF { // OTF ignores it
		if _, ok := s.projects[pr[0].ID]; !ok {
			notFound(w)
			return
		}
		ws.Project = pr[0].ID
	}
	s.ws[ws.ID] = ws
	writeDoc(w, 201, s.wsModel(ws, false), nil)
}

func (s *Server) wsModel(ws *workspace, include bool) *tfe.Workspace {
	m := &tfe.Workspace{ID: ws.ID, Name: ws.Name, Description: ws.Description, AutoApply: ws.AutoApply,
		TagNames: ws.Tags, Project: &tfe.Project{ID: ws.Project}, Organization: &tfe.Organization{Name: s.Org}}
	if ws.CurrentRun != "" {
		if include {
			m.CurrentRun = s.runModel(s.runs[ws.CurrentRun])
		} else {
			m.CurrentRun = &tfe.Run{ID: ws.CurrentRun}
		}
	}
	return m
}

func (s *Server) workspaceRoutes(w http.ResponseWriter, r *http.Request, d *doc, ws *workspace, p []string) {
	m := r.Method
	switch {
	case len(p) == 0 && m == "GET":
		writeDoc(w, 200, s.wsModel(ws, false), nil)
	case len(p) == 0 && m == "DELETE":
		s.deleteWorkspace(ws)
		w.WriteHeader(http.StatusNoContent)
	case len(p) == 2 && p[0] == "actions" && p[1] == "safe-delete" && s.Dialect == OTF:
		noRoute(w)
	case len(p) == 2 && p[0] == "actions" && p[1] == "safe-delete" && m == "POST":
		if ws.Resources > 0 {
			writeRaw(w, http.StatusConflict, `{"errors":[{"status":"409","title":"conflict","detail":"Workspace is not safe to delete: it still manages resources."}]}`)
			return
		}
		s.deleteWorkspace(ws)
		w.WriteHeader(http.StatusNoContent)
	case len(p) == 2 && p[0] == "relationships" && p[1] == "tags" && m == "POST":
		var t struct {
			Data []relNode `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&t)
		for _, n := range t.Data {
			if name, _ := n.Attributes["name"].(string); name != "" && !hasAll(ws.Tags, []string{name}) {
				ws.Tags = append(ws.Tags, name)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	case len(p) == 1 && p[0] == "vars" && m == "GET":
		var out []*tfe.Variable
		for _, v := range ws.Vars {
			c := *v
			if c.Sensitive {
				c.Value = "" // as the real API: sensitive values are write-only
			}
			out = append(out, &c)
		}
		writeDoc(w, 200, out, pagination(1, 1, len(out)))
	case len(p) == 1 && p[0] == "vars" && m == "POST":
		key, _ := d.str("key")
		for _, v := range ws.Vars {
			if v.Key == key {
				unprocessable(w, "Key has already been taken")
				return
			}
		}
		v := &tfe.Variable{ID: s.id("var"), Key: key}
		v.Value, _ = d.str("value")
		v.Value = s.stored(v.Value)
		cat, _ := d.str("category")
		v.Category = tfe.CategoryType(cat)
		v.Sensitive, _ = d.boolean("sensitive")
		v.HCL, _ = d.boolean("hcl")
		ws.Vars = append(ws.Vars, v)
		c := *v
		if c.Sensitive {
			c.Value = ""
		}
		writeDoc(w, 201, &c, nil)
	case len(p) == 2 && p[0] == "vars" && m == "PATCH":
		for _, v := range ws.Vars {
			if v.ID == p[1] {
				if val, ok := d.str("value"); ok {
					v.Value = s.stored(val)
				}
				if sen, ok := d.boolean("sensitive"); ok {
					v.Sensitive = v.Sensitive || sen // cannot be unset, as in TFE
				}
				c := *v
				if c.Sensitive {
					c.Value = ""
				}
				writeDoc(w, 200, &c, nil)
				return
			}
		}
		notFound(w)
	case len(p) == 1 && p[0] == "configuration-versions" && m == "POST":
		c := &cv{ID: s.id("cv"), Workspace: ws.ID, Status: tfe.ConfigurationPending, AutoQueue: true}
		if aq, ok := d.boolean("auto-queue-runs"); ok {
			c.AutoQueue = aq
		}
		s.cvs[c.ID] = c
		writeDoc(w, 201, s.cvModel(c), nil)
	case len(p) == 1 && p[0] == "runs" && m == "GET":
		var out []*tfe.Run
		ids := sortedIDs(s.runs)
		for i := len(ids) - 1; i >= 0; i-- {
			if rn := s.runs[ids[i]]; rn.Workspace == ws.ID {
				out = append(out, s.runModel(rn))
			}
		}
		writeDoc(w, 200, out, pagination(1, 1, len(out)))
	case len(p) == 1 && p[0] == "current-state-version-outputs" && m == "GET":
		if ws.StateSerial == 0 {
			notFound(w)
			return
		}
		var out []*tfe.StateVersionOutput
		for _, k := range slices.Sorted(maps.Keys(ws.Outputs)) {
			out = append(out, &tfe.StateVersionOutput{ID: fmt.Sprintf("wsout-%s-%s", ws.ID, k), Name: k, Value: ws.Outputs[k], Type: "object"})
		}
		writeDoc(w, 200, out, pagination(1, 1, len(out)))
	case len(p) == 1 && p[0] == "current-state-version" && m == "GET":
		if ws.StateSerial == 0 {
			notFound(w)
			return
		}
		writeDoc(w, 200, &tfe.StateVersion{ID: fmt.Sprintf("sv-%s-%d", ws.ID, ws.StateSerial), Serial: int64(ws.StateSerial), ResourcesProcessed: true}, nil)
	default:
		notFound(w)
	}
}

func (s *Server) deleteWorkspace(ws *workspace) {
	delete(s.ws, ws.ID)
	for id, c := range s.cvs {
		if c.Workspace == ws.ID {
			delete(s.cvs, id)
		}
	}
}

func (s *Server) cvModel(c *cv) *tfe.ConfigurationVersion {
	return &tfe.ConfigurationVersion{ID: c.ID, Status: c.Status, AutoQueueRuns: c.AutoQueue, Source: tfe.ConfigurationSourceAPI,
		UploadURL: s.URL + "/_archivist/v1/object/upload-" + c.ID}
}

// archivist serves upload URLs (PUT, no token: the URL is the credential) and logs.
func (s *Server) archivist(w http.ResponseWriter, r *http.Request, p []string) {
	if len(p) != 4 {
		notFound(w)
		return
	}
	obj := p[3]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(obj, "upload-") && r.Method == http.MethodPut:
		c, ok := s.cvs[strings.TrimPrefix(obj, "upload-")]
		if !ok || c.Status != tfe.ConfigurationPending {
			notFound(w)
			return
		}
		b, _ := io.ReadAll(r.Body)
		files, err := untar(b)
		if err != nil {
			c.Status = tfe.ConfigurationErrored
			writeRaw(w, http.StatusUnprocessableEntity, `{"errors":["not a tar.gz archive"]}`)
			return
		}
		c.Files, c.Status = files, tfe.ConfigurationFetching
		w.WriteHeader(http.StatusOK)
	case strings.HasPrefix(obj, "log-") && r.Method == http.MethodGet:
		kind, id, _ := strings.Cut(strings.TrimPrefix(obj, "log-"), "-")
		rn, ok := s.runs["run-"+id]
		if !ok {
			notFound(w)
			return
		}
		text, failed, step := rn.PlanLog, rn.PlanStatus == tfe.PlanErrored, "executing plan: "
		if kind == "apply" {
			text, failed, step = rn.ApplyLog, rn.ApplyStatus == tfe.ApplyErrored, ""
		}
		if failed && s.Dialect == OTF {
			// OTF's runner ends a failed phase's log with the step's error:
			// Terraform's stderr again, on one line.
			text += "\n\x1b[91mError: \x1b[0m" + step + "exit status 1: " + strings.Join(strings.Fields(text), " ") + "\n"
		}
		text = "\x02" + text + "\x03"
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		lim, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		off = min(off, len(text))
		end := len(text)
		if lim > 0 {
			end = min(off+lim, end)
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, text[off:end])
	default:
		notFound(w)
	}
}

// stored is a variable value as the server keeps it: OTF trims it.
func (s *Server) stored(v string) string {
	if s.Dialect == OTF {
		return strings.TrimSpace(v)
	}
	return v
}
