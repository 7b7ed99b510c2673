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
//
// Dialect switches between what Terraform Enterprise / HCP Terraform answer
// (TFE, the default) and what OTF (github.com/leg100/otf, the self-hosted
// server of the TFE API) answers where the two differ (see Dialect). Down, Up
// and Restart stop and start the listener (connections refused meanwhile),
// as a server restart does; the runs in progress then end as RunFate says.
// The server also keeps a model of the KVM host the runs target (HostObjects):
// an apply creates its objects there one by one, so a run that dies mid-apply
// leaves objects its state does not know, and the next apply of the same
// names fails with "already exists", as the libvirt provider does.
package tfe

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// Dialect is which server the test server answers as.
type Dialect string

// The dialects. OTF differs from TFE in: the run message is not stored; there
// is no safe-delete route (404 "404 page not found"; DELETE works); include
// is ignored (a run's plan and apply are ids only, and so is a workspace's
// current run); an existing workspace name is 409 "resource already exists"
// (TFE: 422); variable values are stored trimmed; there is no projects API
// (404, and a project given at creation is ignored); a run action in the
// wrong state is a 500 (TFE: 409); plans and applies carry no resource
// counts (0: OTF's report is never serialised); a run is force-cancelable
// as soon as a cancel was asked, yet a force-cancel is refused (500) until
// the cool-off has passed (TFE: force-cancelable once it has).
const (
	TFE Dialect = "tfe"
	OTF Dialect = "otf"
)

// Dialects lists both, for tests that run against each.
var Dialects = []Dialect{TFE, OTF}

// RunFate is what becomes of the runs in progress when the server goes down.
type RunFate int

const (
	// RunsCanceled: a graceful shutdown cancels them.
	RunsCanceled RunFate = iota
	// RunsStuck: the server (its runner) died: they keep their status for
	// good (cancel, then force-cancel after CoolOff, ends them).
	RunsStuck
)

// Server is the test server. Exported fields may be set before use.
type Server struct {
	URL     string
	Org     string
	Token   string
	Dialect Dialect
	// CoolOff is how long after a cancel a stuck run may be force-canceled.
	CoolOff time.Duration
	// Delay is added to every API request (the benchmark subtracts it).
	Delay time.Duration
	// ExtraStatuses run between planned and the apply (or the confirmation):
	// real TFE has cost estimation, policy checks, run tasks... and adds more.
	ExtraStatuses []tfe.RunStatus
	// FailPlan returns a plan log (text) to make a workspace's next plans error.
	FailPlan func(workspace string) string
	// FailApply returns an apply log (text) to make a workspace's next applies error.
	FailApply func(workspace string) string
	// Stick makes a workspace's runs stop at applying for good, as a run
	// whose worker died (cancel, then force-cancel, ends them).
	Stick func(workspace string) bool

	netMu sync.Mutex // guards addr, hs
	addr  string
	hs    *http.Server

	mu       sync.Mutex
	seq      int
	calls    []Call
	faults   []*Fault
	injected time.Duration
	ws       map[string]*workspace // id →
	cvs      map[string]*cv
	runs     map[string]*run
	projects map[string]string // id → name
	host     map[string]string // object name on the KVM host → workspace id whose run created it
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
	Objects                        []string // host objects in the state
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
	objects                    []string
	planErr                    string
	stuck                      bool
	forceAt                    time.Time // when a cancel was asked, plus CoolOff
}

// New starts a TFE-dialect server for organization org accepting token.
func New(t testing.TB, org, token string) *Server { return NewDialect(t, TFE, org, token) }

// NewDialect starts a server answering as dialect d.
func NewDialect(t testing.TB, d Dialect, org, token string) *Server {
	s := &Server{Org: org, Token: token, Dialect: d, CoolOff: 20 * time.Millisecond,
		ws: map[string]*workspace{}, cvs: map[string]*cv{}, runs: map[string]*run{}, host: map[string]string{},
		projects:      map[string]string{"prj-default": "Default Project", "prj-exams": "exams"},
		ExtraStatuses: []tfe.RunStatus{tfe.RunCostEstimating, tfe.RunCostEstimated, "post_plan_completed"}}
	if err := s.listen("127.0.0.1:0"); err != nil {
		if t != nil {
			t.Fatalf("tfe test server: %v", err)
		}
		panic(err)
	}
	s.URL = "http://" + s.addr
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// listen starts serving on addr (the same address again after Down).
func (s *Server) listen(addr string) error {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(s.serve)}
	s.netMu.Lock()
	s.addr, s.hs = ln.Addr().String(), hs
	s.netMu.Unlock()
	go hs.Serve(ln)
	return nil
}

// Close stops the server.
func (s *Server) Close() {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if s.hs != nil {
		s.hs.Close()
		s.hs = nil
	}
}

// Down stops listening and drops every connection (new ones are refused
// until Up); the runs in progress end as fate says.
func (s *Server) Down(fate RunFate) {
	s.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rn := range s.runs {
		if runEnded(rn.Status) {
			continue
		}
		switch fate {
		case RunsCanceled:
			rn.Status, rn.steps = tfe.RunCanceled, nil
		case RunsStuck:
			rn.stuck = true
		}
	}
}

// Up listens again on the same address.
func (s *Server) Up() error { return s.listen(s.addr) }

// Restart is Down, then Up after down has passed (in the background).
func (s *Server) Restart(down time.Duration, fate RunFate) {
	s.Down(fate)
	go func() {
		time.Sleep(down)
		_ = s.Up()
	}()
}

// HostObjects lists the objects on the modelled KVM host, sorted, each as
// "name workspace-name" ("name -" once its workspace is gone).
func (s *Server) HostObjects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, id := range s.host {
		wn := "-"
		if ws, ok := s.ws[id]; ok {
			wn = ws.Name
		}
		out = append(out, name+" "+wn)
	}
	sort.Strings(out)
	return out
}

// RemoveHostObjects removes the host objects whose name starts with prefix
// (what a sweep of the host by tailab's names does) and returns them.
func (s *Server) RemoveHostObjects(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.host {
		if strings.HasPrefix(name, prefix) {
			delete(s.host, name)
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
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
	Description       string
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
		wi := WorkspaceInfo{ID: w.ID, Name: w.Name, Project: w.Project, Tags: append([]string(nil), w.Tags...), Outputs: w.Outputs, Resources: w.Resources, Description: w.Description}
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

// noRoute is what OTF (its Go router) answers for a route it does not have.
func noRoute(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "404 page not found\n")
}

// conflict is a 409 (OTF) or 422 (TFE) for an existing name.
func (s *Server) nameTaken(w http.ResponseWriter) {
	if s.Dialect == OTF {
		writeRaw(w, http.StatusConflict, `{"errors":[{"status":"409","title":"conflict","detail":"resource already exists"}]}`)
		return
	}
	unprocessable(w, "Name has already been taken")
}

// badTransition is a run action in the wrong state: 409 (TFE), 500 (OTF).
func (s *Server) badTransition(w http.ResponseWriter, what string) {
	if s.Dialect == OTF {
		writeRaw(w, http.StatusInternalServerError, fmt.Sprintf(`{"errors":[{"status":"500","title":"internal server error","detail":%q}]}`, what))
		return
	}
	writeRaw(w, http.StatusConflict, `{"errors":[{"status":"409","title":"transition not allowed"}]}`)
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
