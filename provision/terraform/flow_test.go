package terraform

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/secret"
	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

const testToken = "tfe-test-token.atlasv1.s3cr3t"

// recorder is an Observer keeping what it sees.
type recorder struct {
	mu       sync.Mutex
	events   []provision.Event
	machines map[string]provision.MachineState
	onEvent  func(provision.Event)
}

func (r *recorder) Event(e provision.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	f := r.onEvent
	r.mu.Unlock()
	if f != nil {
		f(e)
	}
}

func (r *recorder) Machine(m provision.MachineState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.machines == nil {
		r.machines = map[string]provision.MachineState{}
	}
	r.machines[m.Key()] = m
}

// text is everything the observer was told, as a user would see it.
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		fmt.Fprintf(&b, "%s %s %s %v\n", e.Candidate, e.Resource, e.What, e.Err)
	}
	for _, m := range r.machines {
		fmt.Fprintf(&b, "%+v\n", m)
	}
	return b.String()
}

func (r *recorder) has(what string) bool {
	return strings.Contains(r.text(), what)
}

// testConfig reaches srv (in project exams, but OTF has no projects), polls
// without waiting and retries for a short while.
func testConfig(srv *tfetest.Server) Config {
	c := Config{Address: srv.URL, Token: secret.New(srv.Token), Organization: srv.Org, Project: "exams",
		LibvirtURI: "qemu+ssh://root@kvm1/system", Pool: "tailab", PollInterval: time.Millisecond, RetryFor: 2 * time.Second,
		// These tests boot no machine: readiness is TestReadiness's.
		Ready: func(context.Context, labs.Machine, provision.MachineState) (string, error) { return "", nil }}
	if srv.Dialect == tfetest.OTF {
		c.Project = ""
	}
	return c
}

// newTestProvider is a provider on srv; extra overrides token,
// organization, project, auto-apply.
func newTestProvider(srv *tfetest.Server, extra map[string]string) *Provider {
	c := testConfig(srv)
	for k, v := range extra {
		switch k {
		case "token":
			c.Token = secret.New(v)
		case "organization":
			c.Organization = v
		case "project":
			c.Project = v
		case "auto-apply":
			c.AutoApply = v == "true"
		default:
			panic("newTestProvider: unknown key " + k)
		}
	}
	return New(c)
}

func ops(plan *provision.Plan) string {
	var out []string
	for _, a := range plan.Actions {
		out = append(out, a.Resource.Name+"="+string(a.Op))
	}
	return strings.Join(out, " ")
}

// TestUpDownFlow: up creates tagged workspaces with variables (secrets
// sensitive), uploads each module then waits for it before its run, confirms
// and follows the runs, reads the outputs into machine states; a second up
// queues nothing; a changed lab queues new runs; down destroys and deletes.
func TestUpDownFlow(t *testing.T) { forDialects(t, testUpDownFlow) }

// forDialects runs a test against the test server in each dialect.
func forDialects(t *testing.T, f func(t *testing.T, srv *tfetest.Server)) {
	for _, d := range tfetest.Dialects {
		t.Run(string(d), func(t *testing.T) { f(t, tfetest.NewDialect(t, d, "ecole", testToken)) })
	}
}

func testUpDownFlow(t *testing.T, srv *tfetest.Server) {
	p := newTestProvider(srv, nil)
	s := testSession(t, "s1", 2)
	secrets, adminPW := testSecrets(t)
	ctx := context.Background()

	plan, err := p.Plan(ctx, s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan); got != "tl-s1_mgmt=create tl-s1_c01=create tl-s1_c02=create" {
		t.Fatalf("first plan: %s", got)
	}
	obs := &recorder{}
	if err := p.Apply(ctx, plan, provision.ApplyOptions{Parallel: 4, Secrets: secrets}, obs); err != nil {
		t.Fatalf("apply: %v\n%s", err, obs.text())
	}
	if got := srv.Workspaces(); !slices.Equal(got, []string{"tl-s1_c01", "tl-s1_c02", "tl-s1_mgmt"}) {
		t.Fatalf("workspaces %v", got)
	}
	for _, c := range []string{"c01", "c02"} {
		ws, _ := srv.Workspace(WorkspaceName("s1", c))
		if want := []string{"tailab", "session:s1", "candidate:" + c, "lab:tf-lab"}; !slices.Equal(ws.Tags, want) {
			t.Errorf("%s tags %v, want %v", ws.Name, ws.Tags, want)
		}
		if srv.Dialect == tfetest.TFE && ws.Project != "prj-exams" {
			t.Errorf("%s in project %q, want prj-exams (TFE_PROJECT=exams)", ws.Name, ws.Project)
		}
		vars := map[string]string{}
		for _, v := range ws.Vars {
			vars[v.Key] = fmt.Sprintf("sensitive=%v", v.Sensitive)
			switch v.Key {
			case "secret_admin":
				if !v.Sensitive || v.Value != adminPW {
					t.Errorf("secret_admin: sensitive %v, value set %v", v.Sensitive, v.Value == adminPW)
				}
			case "ssh_public_key_ssh_key":
				if v.Sensitive || !strings.HasPrefix(v.Value, "ssh-ed25519 ") {
					t.Errorf("public key variable %+v", v)
				}
			case "libvirt_uri":
				if v.Value != "qemu+ssh://root@kvm1/system" {
					t.Errorf("libvirt_uri %q", v.Value)
				}
			}
		}
		if len(vars) != 5 { // and TAILAB_SPEC
			t.Errorf("%s variables %v", ws.Name, vars)
		}
		if len(ws.Runs) != 1 || ws.Runs[0].Status != "applied" || len(ws.CVs) != 1 || !strings.HasSuffix(ws.CVs[0], ":uploaded") {
			t.Errorf("%s runs %+v, configuration versions %v", ws.Name, ws.Runs, ws.CVs)
		}
		if ws.Resources != 12 {
			t.Errorf("%s manages %d resources, want 12", ws.Name, ws.Resources)
		}
	}
	// Configuration versions are created without auto-queued runs, and every
	// run is created after its configuration version read back "uploaded".
	uploaded := map[string]bool{}
	for _, c := range srv.Calls() {
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/configuration-versions") && !strings.Contains(c.Body, `"auto-queue-runs":false`) {
			t.Errorf("configuration version created without auto-queue-runs false: %s", c.Body)
		}
		if c.Method == "PUT" {
			uploaded[strings.TrimPrefix(c.Path[strings.LastIndex(c.Path, "/")+1:], "upload-")] = false
		}
		if c.Method == "GET" && strings.Contains(c.Path, "/configuration-versions/") {
			uploaded[c.Path[strings.LastIndex(c.Path, "/")+1:]] = true
		}
		if c.Method == "POST" && c.Path == "/api/v2/runs" {
			if c.Status != 201 {
				t.Errorf("run creation answered %d: %s", c.Status, c.Body)
			}
		}
	}
	if n := runsCreated(srv); n != 3 {
		t.Errorf("%d runs created, want 3", n)
	}
	if n := srv.Count("/actions/apply"); n != 3 {
		t.Errorf("%d runs confirmed, want 3", n)
	}
	for _, want := range []string{"run run-", ": planning", ": post_plan_completed", "plan: 12 to add, 0 to change, 0 to destroy", "apply: 12 added", "configuration uploaded", "confirmed"} {
		if !obs.has(want) {
			t.Errorf("progress never showed %q:\n%s", want, obs.text())
		}
	}
	m := obs.machines["c02/srv"]
	if m.MgmtAddress != "10.250.2.10" || m.Addresses["lan"] != "10.20.0.10" || m.State != provision.StateReady || m.Domain != "tl-s1.c02.srv" || m.Host != "qemu+ssh://root@kvm1/system" {
		t.Errorf("c02/srv state %+v", m)
	}
	if m := obs.machines["c01/pc1"]; m.MgmtAddress != "10.250.1.12" || m.OS != "windows" {
		t.Errorf("c01/pc1 state %+v", m)
	}
	if len(obs.machines) != 6 {
		t.Errorf("%d machine states, want 6", len(obs.machines))
	}

	// Up again: everything is kept, nothing is queued.
	runs, cvs := runsCreated(srv), srv.Count("configuration-versions")
	plan, err = New(p.cfg).Plan(ctx, s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan); got != "tl-s1_mgmt=keep tl-s1_c01=keep tl-s1_c02=keep" {
		t.Fatalf("second plan: %s", got)
	}
	obs2 := &recorder{}
	if err := p.Apply(ctx, plan, provision.ApplyOptions{Secrets: secrets}, obs2); err != nil {
		t.Fatal(err)
	}
	if runsCreated(srv) != runs || srv.Count("configuration-versions") != cvs {
		t.Errorf("a second up queued runs or uploaded configurations")
	}
	if len(obs2.machines) != 6 || obs2.machines["c01/srv"].MgmtAddress != "10.250.1.10" {
		t.Errorf("second up did not report the machines: %v", obs2.machines)
	}

	// Status reads the outputs too.
	st, err := p.Status(ctx, s, instances(t, s))
	if err != nil || len(st) != 6 || st[0].State != provision.StateRunning || st[0].MgmtAddress == "" {
		t.Fatalf("status %v %+v", err, st)
	}

	// A changed lab: new runs for the candidates, the management network kept.
	s.LabYAML = strings.Replace(s.LabYAML, "memory: 512MiB", "memory: 1GiB", 1)
	plan, err = p.Plan(ctx, s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan); got != "tl-s1_mgmt=keep tl-s1_c01=replace tl-s1_c02=replace" {
		t.Fatalf("plan after a lab change: %s", got)
	}
	if err := p.Apply(ctx, plan, provision.ApplyOptions{Secrets: secrets}, &recorder{}); err != nil {
		t.Fatal(err)
	}
	if ws, _ := srv.Workspace("tl-s1_c01"); len(ws.Runs) != 2 || ws.Runs[1].Status != "applied" {
		t.Errorf("after the change: runs %+v", ws.Runs)
	}

	// The public key's value is stored trimmed by OTF: it is not rewritten.
	for _, c := range srv.Calls() {
		if c.Method == "PATCH" && strings.Contains(c.Body, "ssh-ed25519") {
			t.Errorf("the public key variable was rewritten: %s", c.Body)
		}
	}

	// Down one candidate, then the rest: destroy runs, then deletion; the
	// management network goes last.
	obs3 := &recorder{}
	if err := p.Destroy(ctx, s, []string{"c02"}, obs3); err != nil {
		t.Fatalf("down c02: %v\n%s", err, obs3.text())
	}
	if got := srv.Workspaces(); !slices.Equal(got, []string{"tl-s1_c01", "tl-s1_mgmt"}) {
		t.Fatalf("after down c02: %v", got)
	}
	if err := p.Destroy(ctx, s, nil, obs3); err != nil {
		t.Fatalf("down: %v\n%s", err, obs3.text())
	}
	if got := srv.Workspaces(); len(got) != 0 {
		t.Fatalf("after down: %v", got)
	}
	destroys := 0
	for _, c := range srv.Calls() {
		if c.Method == "POST" && c.Path == "/api/v2/runs" && strings.Contains(c.Body, `"is-destroy":true`) {
			destroys++
		}
	}
	if destroys != 3 {
		t.Errorf("%d destroy runs, want 3", destroys)
	}
	if !obs3.has("apply: 0 added, 0 changed, 12 destroyed") || !obs3.has("workspace deleted") {
		t.Errorf("down progress:\n%s", obs3.text())
	}
	// Down again: nothing left, nothing to do.
	if err := p.Destroy(ctx, s, nil, &recorder{}); err != nil {
		t.Fatal(err)
	}

	// Neither the token nor a secret ever shows.
	for _, o := range []*recorder{obs, obs2, obs3} {
		if txt := o.text(); strings.Contains(txt, testToken) || strings.Contains(txt, adminPW) || strings.Contains(txt, "PRIVATE KEY") {
			t.Fatalf("a secret in the output:\n%s", txt)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", p.cfg, p.cfg, p.cfg); strings.Contains(s, testToken) {
		t.Fatalf("the token prints with the config: %s", s)
	}
}

// TestResumeAfterCrash: tailab dies while runs are in progress (context
// cancelled when a run starts applying); the next up finds the workspaces and
// the runs in progress, follows them, and creates no duplicate.
func TestResumeAfterCrash(t *testing.T) { forDialects(t, testResumeAfterCrash) }

func testResumeAfterCrash(t *testing.T, srv *tfetest.Server) {
	s := testSession(t, "s2", 3)
	secrets, _ := testSecrets(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := &recorder{onEvent: func(e provision.Event) {
		if e.Candidate == "c02" && strings.HasSuffix(e.What, ": applying") {
			cancel() // kill -9, as far as the API is concerned
		}
	}}
	p := newTestProvider(srv, nil)
	plan, err := p.Plan(ctx, s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Apply(ctx, plan, provision.ApplyOptions{Parallel: 3, Secrets: secrets}, obs)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("apply after the crash: %v", err)
	}
	ws, _ := srv.Workspace("tl-s2_c02")
	if len(ws.Runs) != 1 || ws.Runs[0].Status != "applying" {
		t.Fatalf("c02 runs after the crash: %+v", ws.Runs)
	}

	// A new tailab process: a new provider, a new client.
	p2 := newTestProvider(srv, nil)
	plan, err = p2.Plan(context.Background(), s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	// c02's run is followed (or, when reading the runs let it finish, kept:
	// OTF ignores include, so listing reads each run, and each read of the
	// test server's runs moves them on).
	following := false
	for _, a := range plan.Actions {
		if a.Resource.Name != "tl-s2_c02" {
			continue
		}
		following = strings.Contains(a.Reason, "in progress (applying): followed")
		if a.Op != provision.OpKeep || !following && a.Reason != "" {
			t.Errorf("resumed plan for c02: %s %s", a.Op, a.Reason)
		}
	}
	obs2 := &recorder{}
	if err := p2.Apply(context.Background(), plan, provision.ApplyOptions{Secrets: secrets}, obs2); err != nil {
		t.Fatalf("resume: %v\n%s", err, obs2.text())
	}
	if following && !obs2.has("following run "+ws.Runs[0].ID+" (applying)") {
		t.Errorf("the run in progress was not followed:\n%s", obs2.text())
	}
	if got := srv.Workspaces(); !slices.Equal(got, []string{"tl-s2_c01", "tl-s2_c02", "tl-s2_c03", "tl-s2_mgmt"}) {
		t.Fatalf("workspaces %v", got)
	}
	for _, name := range srv.Workspaces() {
		ws, _ := srv.Workspace(name)
		applied := 0
		for _, r := range ws.Runs {
			if r.Status == "applied" {
				applied++
			}
		}
		if applied != 1 || len(ws.Runs) != 1 {
			t.Errorf("%s: runs %+v (want exactly one, applied)", name, ws.Runs)
		}
	}
	if ws, _ := srv.Workspace("tl-s2_c02"); len(ws.CVs) != 1 {
		t.Errorf("c02 configuration versions %v", ws.CVs)
	}
	if len(obs2.machines) != 9 {
		t.Errorf("%d machines after resuming", len(obs2.machines))
	}
}

// TestErrors: each failure gives a message that says what happened and what to do.
func TestErrors(t *testing.T) {
	s := testSession(t, "s3", 1)
	secrets, _ := testSecrets(t)
	tests := []struct {
		name  string
		setup func(*tfetest.Server) map[string]string
		want  []string
		long  bool
	}{
		{"401 bad token", func(*tfetest.Server) map[string]string { return map[string]string{"token": "wrong-token-value"} },
			[]string{"HTTP 401", "check TFE_TOKEN"}, false},
		{"404 unknown organization", func(*tfetest.Server) map[string]string { return map[string]string{"organization": "nope"} },
			[]string{"HTTP 404", `TFE_ORGANIZATION="nope"`}, false},
		{"unknown project", func(*tfetest.Server) map[string]string { return map[string]string{"project": "nope"} },
			[]string{`organization "ecole" has no project "nope" (TFE_PROJECT)`}, false},
		{"422 invalid workspace", func(srv *tfetest.Server) map[string]string {
			srv.Fail(tfetest.Fault{Method: "POST", Path: "/organizations/ecole/workspaces", Status: 422,
				Body: `{"errors":[{"status":"422","title":"invalid attribute","detail":"Name is invalid"}]}`})
			return nil
		}, []string{`create workspace "tl-s3_mgmt": HTTP 422`, "Name is invalid", "rejected the request as invalid"}, false},
		{"429 then fine (go-tfe retries)", func(srv *tfetest.Server) map[string]string {
			srv.Fail(tfetest.Fault{Path: "/workspaces", Status: 429, Times: 3})
			return nil
		}, nil, false},
		{"429 for good", func(srv *tfetest.Server) map[string]string {
			srv.Fail(tfetest.Fault{Method: "POST", Path: "/configuration-versions", Status: 429})
			return nil
		}, []string{"HTTP 429", "rate limited by TFE even after go-tfe's retries"}, true},
		{"500 on runs", func(srv *tfetest.Server) map[string]string {
			srv.Fail(tfetest.Fault{Method: "POST", Path: "/api/v2/runs", Status: 500})
			return nil
		}, []string{`queue a run in workspace "tl-s3_mgmt": HTTP 500`, "TFE server error", "resumes"}, false},
		{"503 on run reads", func(srv *tfetest.Server) map[string]string {
			srv.Fail(tfetest.Fault{Method: "GET", Path: "/api/v2/runs/", Status: 503})
			return nil
		}, []string{"read run", "HTTP 503", "TFE server error"}, false},
		{"errored plan shows its log", func(srv *tfetest.Server) map[string]string {
			srv.FailPlan = func(ws string) string {
				if ws != "tl-s3_c01" {
					return ""
				}
				return "Terraform v1.5.7\nInitializing plugins...\n\n\x1b[31m╷\x1b[0m\n│ Error: error creating libvirt domain: Cannot access storage file '/srv/images/win11-fr.qcow2': No such file or directory\n│\n│   with libvirt_volume.disk_pc1,\n╵\n"
			}
			return nil
		}, []string{`candidate c01: run run-`, `of workspace "tl-s3_c01" errored during plan`, "Error: error creating libvirt domain: Cannot access storage file '/srv/images/win11-fr.qcow2'", "with libvirt_volume.disk_pc1"}, false},
		{"structured log", func(srv *tfetest.Server) map[string]string {
			srv.FailPlan = func(ws string) string {
				return `{"@level":"info","@message":"Terraform 1.5.7"}` + "\n" + `{"@level":"error","@message":"Error: Invalid reference","diagnostic":{"detail":"A reference to a resource type must be followed by at least one attribute access."}}` + "\n"
			}
			return nil
		}, []string{"errored during plan", "Error: Invalid reference", "must be followed by at least one attribute access"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.long && testing.Short() {
				t.Skip("go-tfe retries a 429 30 times: a few seconds")
			}
			srv := tfetest.New(t, "ecole", testToken)
			p := newTestProvider(srv, tt.setup(srv))
			obs := &recorder{}
			plan, err := p.Plan(context.Background(), s, instances(t, s))
			if err == nil {
				err = p.Apply(context.Background(), plan, provision.ApplyOptions{Secrets: secrets}, obs)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if n := countStatus(srv, http.StatusTooManyRequests); n != 3 {
					t.Errorf("%d answers 429, want 3", n)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
			if strings.Contains(err.Error()+obs.text(), testToken) || strings.Contains(err.Error(), "wrong-token-value") {
				t.Errorf("the token shows: %v", err)
			}
			t.Logf("message: %v", err)
		})
	}
}

func runsCreated(srv *tfetest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Method == "POST" && c.Path == "/api/v2/runs" {
			n++
		}
	}
	return n
}

func countStatus(srv *tfetest.Server, status int) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Status == status {
			n++
		}
	}
	return n
}

// TestUnknownStatusesAreNotTerminal: statuses tailab does not know are
// waited through, and an auto-apply workspace is never confirmed by tailab.
func TestUnknownStatusesAreNotTerminal(t *testing.T) {
	srv := tfetest.New(t, "ecole", testToken)
	srv.ExtraStatuses = append(srv.ExtraStatuses, "some_future_status", "policy_checked")
	p := newTestProvider(srv, map[string]string{"auto-apply": "true"})
	s := testSession(t, "s4", 1)
	secrets, _ := testSecrets(t)
	plan, err := p.Plan(context.Background(), s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	obs := &recorder{}
	if err := p.Apply(context.Background(), plan, provision.ApplyOptions{Secrets: secrets}, obs); err != nil {
		t.Fatal(err)
	}
	if !obs.has(": some_future_status") || srv.Count("/actions/apply") != 0 {
		t.Errorf("unknown status or auto-apply: confirmations %d\n%s", srv.Count("/actions/apply"), obs.text())
	}
	if ws, _ := srv.Workspace("tl-s4_c01"); ws.Runs[0].Status != "applied" {
		t.Errorf("run %+v", ws.Runs)
	}
}

// TestOfflinePlan: without TFE settings, Plan still generates the modules
// (for `up --dry-run --out`), and Apply says what is missing.
func TestOfflinePlan(t *testing.T) {
	p := New(Config{})
	s := testSession(t, "s5", 2)
	plan, err := p.Plan(context.Background(), s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dirs, err := WriteModules(plan, dir)
	if err != nil || len(dirs) != 3 {
		t.Fatalf("write modules: %v %v", dirs, err)
	}
	if err := p.Apply(context.Background(), plan, provision.ApplyOptions{}, &recorder{}); err == nil || !strings.Contains(err.Error(), "set TFE_TOKEN and TFE_ORGANIZATION") {
		t.Fatalf("offline apply: %v", err)
	}
	_ = time.Second
}
