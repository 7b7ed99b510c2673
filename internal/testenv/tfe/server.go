// Package tfe is a Terraform Cloud/Enterprise API test server: an
// httptest.Server answering the part of the API tailab uses with JSON:API
// documents shaped like the real ones (go-tfe's own models marshalled with
// hashicorp/jsonapi): ping (with the TFP-API-Version header go-tfe reads),
// organizations, projects, workspaces (create, read by name or id, list with
// tags, safe-delete, delete), variables, configuration versions with their
// upload URL, runs whose status moves one step per read (pending,
// plan_queued, planning, planned, cost_estimated, ... applied, or errored),
// plans and applies with their logs, and the current state version's outputs.
//
// "Applying" a module evaluates it: the server parses the uploaded .tf files
// with hashicorp/hcl, counts resources and evaluates the outputs against the
// resources' literal attributes and the variables' defaults (or workspace
// values), so a module that does not evaluate errors as a real plan would.
//
// It records every call, injects faults (any status, n times or always) and a
// per-request delay, and keeps its state across clients, so a test can kill
// a client mid-run and resume with another.
package tfe

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"
	"github.com/hashicorp/jsonapi"
)

// Call is one request the server answered.
type Call struct {
	Method, Path, Query string
	Status              int
	Body                string // request body (JSON:API documents; not uploads)
}

// Fault makes matching requests fail.
type Fault struct {
	Method string // "" for any
	Path   string // a substring of the path ("" for any)
	Status int
	Times  int    // how many matching requests fail; 0: all
	Body   string // JSON:API errors document; a default one when ""
	hits   int
}

// Server is the test server. Exported fields may be set before use.
type Server struct {
	*httptest.Server
	Org   string
	Token string
	// Delay is added to every API request (the benchmark subtracts it).
	Delay time.Duration
	// ExtraStatuses run between planned and the apply (or the confirmation):
	// real TFE has cost estimation, policy checks, run tasks... and adds more.
	ExtraStatuses []tfe.RunStatus
	// FailPlan returns a plan log (text) to make a workspace's next plans error.
	FailPlan func(workspace string) string

	mu       sync.Mutex
	seq      int
	calls    []Call
	faults   []*Fault
	injected time.Duration
	ws       map[string]*workspace // id →
	cvs      map[string]*cv
	runs     map[string]*run
	projects map[string]string // id → name
}

type workspace struct {
	ID, Name, Project, Description string
	Tags                           []string
	AutoApply                      bool
	Vars                           []*tfe.Variable
	CurrentRun                     string
	LastCV                         string
	AppliedCV                      string
	Outputs                        map[string]any
	Resources                      int
	StateSerial                    int
}

type cv struct {
	ID, Workspace string
	Status        tfe.ConfigurationStatus
	Files         map[string][]byte
	AutoQueue     bool
	reads         int
}

type run struct {
	ID, Workspace, CV, Message string
	Destroy, AutoApply         bool
	Status                     tfe.RunStatus
	steps                      []tfe.RunStatus // statuses still to come before waiting for confirmation
	confirmed                  bool
	Adds, Destroys             int
	PlanStatus                 tfe.PlanStatus
	ApplyStatus                tfe.ApplyStatus
	PlanLog, ApplyLog          string
	outputs                    map[string]any
	resources                  int
	planErr                    string
}

// New starts a server for organization org accepting token.
func New(t testing.TB, org, token string) *Server {
	s := &Server{Org: org, Token: token, ws: map[string]*workspace{}, cvs: map[string]*cv{}, runs: map[string]*run{},
		projects:      map[string]string{"prj-default": "Default Project", "prj-exams": "exams"},
		ExtraStatuses: []tfe.RunStatus{tfe.RunCostEstimating, tfe.RunCostEstimated, "post_plan_completed"}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Fail adds a fault.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Calls returns the calls so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count counts calls whose "METHOD path" contains substr (e.g. "POST /runs").
func (s *Server) Count(substr string) int {
	n := 0
	for _, c := range s.Calls() {
		if strings.Contains(c.Method+" "+c.Path, substr) {
			n++
		}
	}
	return n
}

// Injected is the total delay added to requests so far.
func (s *Server) Injected() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

// WorkspaceInfo is a workspace as the server holds it, for assertions.
type WorkspaceInfo struct {
	ID, Name, Project string
	Tags              []string
	Vars              []tfe.Variable // values as set, sensitive ones included
	Runs              []RunInfo
	CVs               []string // ids, with their status: "cv-1:uploaded"
	Outputs           map[string]any
	Resources         int
}

// RunInfo is a run as the server holds it.
type RunInfo struct {
	ID, Message, CV string
	Status          tfe.RunStatus
	Destroy         bool
}

// Workspace returns a workspace by name, false when there is none.
func (s *Server) Workspace(name string) (WorkspaceInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.ws {
		if w.Name != name {
			continue
		}
		wi := WorkspaceInfo{ID: w.ID, Name: w.Name, Project: w.Project, Tags: append([]string(nil), w.Tags...), Outputs: w.Outputs, Resources: w.Resources}
		for _, v := range w.Vars {
			wi.Vars = append(wi.Vars, *v)
		}
		for _, id := range sortedIDs(s.runs) {
			if r := s.runs[id]; r.Workspace == w.ID {
				wi.Runs = append(wi.Runs, RunInfo{ID: r.ID, Message: r.Message, CV: r.CV, Status: r.Status, Destroy: r.Destroy})
			}
		}
		for _, id := range sortedIDs(s.cvs) {
			if c := s.cvs[id]; c.Workspace == w.ID {
				wi.CVs = append(wi.CVs, c.ID+":"+string(c.Status))
			}
		}
		return wi, true
	}
	return WorkspaceInfo{}, false
}

// Workspaces lists the workspace names, sorted.
func (s *Server) Workspaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, w := range s.ws {
		out = append(out, w.Name)
	}
	sort.Strings(out)
	return out
}

// Files returns the files of a configuration version.
func (s *Server) Files(cvID string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cvs[cvID]; ok {
		return c.Files
	}
	return nil
}

func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i][strings.LastIndex(out[i], "-")+1:])
		b, _ := strconv.Atoi(out[j][strings.LastIndex(out[j], "-")+1:])
		return a < b
	})
	return out
}

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%d", prefix, s.seq)
}

// statusRecorder captures the status written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil && !strings.HasPrefix(r.URL.Path, "/_archivist/") {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status, Body: string(body)})
		s.mu.Unlock()
	}()
	api := strings.HasPrefix(r.URL.Path, "/api/v2/")
	if api && s.Delay > 0 {
		t0 := time.Now()
		time.Sleep(s.Delay)
		slept := time.Since(t0) // what the delay really cost, timer slack included
		s.mu.Lock()
		s.injected += slept
		s.mu.Unlock()
	}
	w.Header().Set("TFP-API-Version", "2.6")
	w.Header().Set("TFP-AppName", "Terraform Enterprise")
	w.Header().Set("X-TFE-Version", "v202409-1")
	if f := s.fault(r); f != nil {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("X-RateLimit-Reset", "0.01")
		}
		b := f.Body
		if b == "" {
			b = fmt.Sprintf(`{"errors":[{"status":"%d","title":%q}]}`, f.Status, http.StatusText(f.Status))
		}
		writeRaw(rec, f.Status, b)
		return
	}
	if api && r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeRaw(rec, http.StatusUnauthorized, `{"errors":[{"status":"401","title":"unauthorized"}]}`)
		return
	}
	s.route(rec, r, body)
}

func (s *Server) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.Path) && (f.Times == 0 || f.hits < f.Times) {
			f.hits++
			return f
		}
	}
	return nil
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", tfe.ContentTypeJSONAPI)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// writeDoc marshals go-tfe models (one or a slice) as a JSON:API document.
func writeDoc(w http.ResponseWriter, status int, models any, meta map[string]any) {
	p, err := jsonapi.Marshal(models)
	if err != nil {
		writeRaw(w, 500, fmt.Sprintf(`{"errors":[{"status":"500","title":%q}]}`, err.Error()))
		return
	}
	if mp, ok := p.(*jsonapi.ManyPayload); ok && meta != nil {
		m := jsonapi.Meta(meta)
		mp.Meta = &m
	}
	w.Header().Set("Content-Type", tfe.ContentTypeJSONAPI)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

func notFound(w http.ResponseWriter) {
	writeRaw(w, http.StatusNotFound, `{"errors":[{"status":"404","title":"not found"}]}`)
}

func unprocessable(w http.ResponseWriter, detail string) {
	writeRaw(w, http.StatusUnprocessableEntity, fmt.Sprintf(`{"errors":[{"status":"422","title":"invalid attribute","detail":%q}]}`, detail))
}

// untar reads a tar.gz configuration.
func untar(b []byte) (map[string][]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(h.Name, "./")] = data
	}
}
