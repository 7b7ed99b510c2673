package terraform

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// upTo brings session s up with p until stop says so (a cancelled context:
// kill -9, as far as the API is concerned) and returns Apply's error.
func upTo(t *testing.T, p *Provider, s *provision.Session, stop func(provision.Event) bool) error {
	t.Helper()
	secrets, _ := testSecrets(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan, err := p.Plan(ctx, s, instances(t, s))
	if err != nil {
		t.Fatal(err)
	}
	obs := &recorder{onEvent: func(e provision.Event) {
		if stop != nil && stop(e) {
			cancel()
		}
	}}
	return p.Apply(ctx, plan, provision.ApplyOptions{Parallel: 4, Secrets: secrets}, obs)
}

// up plans and applies with a fresh provider on cfg, returning what the
// observer saw and the error.
func up(t *testing.T, cfg Config, s *provision.Session, opts provision.ApplyOptions) (*recorder, error) {
	t.Helper()
	secrets, _ := testSecrets(t)
	opts.Secrets = secrets
	p := New(cfg)
	obs := &recorder{}
	plan, err := p.Plan(context.Background(), s, instances(t, s))
	if err != nil {
		return obs, err
	}
	return obs, p.Apply(context.Background(), plan, opts, obs)
}

func runsOf(srv *tfetest.Server, ws string) []tfetest.RunInfo {
	w, _ := srv.Workspace(ws)
	return w.Runs
}

// TestDownDiscardsWaitingRun: `down` while a run waits for confirmation
// discards it and never confirms it (the stale copy was confirmed once:
// "cannot apply run with status discarded"), then removes the workspaces.
func TestDownDiscardsWaitingRun(t *testing.T) {
	forDialects(t, func(t *testing.T, srv *tfetest.Server) {
		s := testSession(t, "d1", 1)
		err := upTo(t, newTestProvider(srv, nil), s, func(e provision.Event) bool {
			return e.Candidate == "c01" && strings.HasSuffix(e.What, ": post_plan_completed")
		})
		if err == nil {
			t.Fatal("up was not interrupted")
		}
		runs := runsOf(srv, "tl-d1_c01")
		if len(runs) != 1 || runs[0].Status != "post_plan_completed" {
			t.Fatalf("c01 runs after the interruption: %+v", runs)
		}
		confirms := srv.Count(runs[0].ID + "/actions/apply")
		obs := &recorder{}
		if err := newTestProvider(srv, nil).Destroy(context.Background(), s, nil, obs); err != nil {
			t.Fatalf("down: %v\n%s", err, obs.text())
		}
		if n := srv.Count(runs[0].ID+"/actions/apply") - confirms; n != 0 {
			t.Errorf("down confirmed the run waiting for confirmation (%d times)", n)
		}
		if got := runsOf(srv, "tl-d1_c01"); len(got) != 0 {
			t.Errorf("runs left %+v", got)
		}
		if got := srv.Workspaces(); len(got) != 0 {
			t.Errorf("workspaces left after down: %v", got)
		}
	})
}

// TestServerRestart: the server restarts (connections refused for 300ms,
// the runs in progress canceled) while up follows the runs: up rides it out
// and queues the canceled runs once more; one applied run per workspace.
func TestServerRestart(t *testing.T) {
	forDialects(t, func(t *testing.T, srv *tfetest.Server) {
		s := testSession(t, "r1", 2)
		var once sync.Once
		p := newTestProvider(srv, nil)
		secrets, _ := testSecrets(t)
		plan, err := p.Plan(context.Background(), s, instances(t, s))
		if err != nil {
			t.Fatal(err)
		}
		obs := &recorder{onEvent: func(e provision.Event) {
			if e.Candidate == "c01" && strings.HasSuffix(e.What, ": planning") {
				once.Do(func() { srv.Restart(300*time.Millisecond, tfetest.RunsCanceled) })
			}
		}}
		if err := p.Apply(context.Background(), plan, provision.ApplyOptions{Parallel: 4, Secrets: secrets}, obs); err != nil {
			t.Fatalf("up across a restart: %v\n%s", err, obs.text())
		}
		if !obs.has("canceled while the server was unreachable (a restart): queued again") {
			t.Errorf("the canceled run was not queued again:\n%s", obs.text())
		}
		for _, name := range srv.Workspaces() {
			applied := 0
			for _, r := range runsOf(srv, name) {
				if r.Status == "applied" {
					applied++
				}
			}
			if applied != 1 {
				t.Errorf("%s: runs %+v, want one applied", name, runsOf(srv, name))
			}
		}
		if len(obs.machines) != 6 {
			t.Errorf("%d machines up", len(obs.machines))
		}
	})
}

// TestServerDownTooLong: connections refused beyond RetryFor end up with a
// message that says the server is down, and the next up resumes.
func TestServerDownTooLong(t *testing.T) {
	srv := tfetest.New(t, "ecole", testToken)
	s := testSession(t, "r2", 1)
	cfg := testConfig(srv)
	cfg.RetryFor = 200 * time.Millisecond
	srv.Down(tfetest.RunsCanceled)
	_, err := up(t, cfg, s, provision.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "refused the connection: the server is down or restarting") || !strings.Contains(err.Error(), "of retries") {
		t.Fatalf("up against a server down: %v", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if obs, err := up(t, cfg, s, provision.ApplyOptions{}); err != nil {
		t.Fatalf("up once it is back: %v\n%s", err, obs.text())
	}
}

// TestApplyFailure: an apply that errors is reported with the apply log's
// error lines (OTF gives the run without its plan and apply: they are read).
func TestApplyFailure(t *testing.T) {
	forDialects(t, func(t *testing.T, srv *tfetest.Server) {
		srv.FailApply = func(ws string) string {
			if ws != "tl-a1_c01" {
				return ""
			}
			return "Terraform v1.5.7\nlibvirt_domain.pc1: Creating...\n╷\n│ Error: error creating libvirt domain: internal error: process exited while connecting to monitor\n│\n│   with libvirt_domain.pc1,\n╵\n"
		}
		_, err := up(t, testConfig(srv), testSession(t, "a1", 1), provision.ApplyOptions{})
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{`of workspace "tl-a1_c01" errored during apply`, "Error: error creating libvirt domain: internal error: process exited while connecting to monitor", "with libvirt_domain.pc1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\ndoes not say %q", err, want)
			}
		}
		// OTF repeats Terraform's stderr on one line at the end of the log:
		// said once is enough.
		if n := strings.Count(err.Error(), "process exited while connecting to monitor"); n != 1 {
			t.Errorf("the error line is there %d times:\n%s", n, err)
		}
		// A plan failure likewise (OTF: "Error: executing plan: exit status 1: ...").
		srv.FailApply = nil
		srv.FailPlan = func(ws string) string {
			if ws != "tl-a2_c01" {
				return ""
			}
			// As a real log has it: another resource's progress after the error block.
			return "Terraform v1.5.7\n╷\n│ Error: error while retrieving remote ISO\n│\n│   with libvirt_cloudinit_disk.seed_srv,\n╵\n" +
				"libvirt_network.net_lan: Refreshing state... [id=e265ff47-98d1-437a-957d-2fd05d7db5c2]\n"
		}
		_, err = up(t, testConfig(srv), testSession(t, "a2", 1), provision.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), "errored during plan") || strings.Count(err.Error(), "error while retrieving remote ISO") != 1 ||
			strings.Contains(err.Error(), "Refreshing state") {
			t.Errorf("plan failure: %v", err)
		}
	})
}

// hostSweeper removes a candidate's objects from the test server's model
// of the KVM host, by tailab's names.
type hostSweeper struct{ srv *tfetest.Server }

func (h hostSweeper) Sweep(_ context.Context, session, candidate string) ([]string, error) {
	if candidate == "" {
		return h.srv.RemoveHostObjects(naming.MgmtNetworkName(session)), nil
	}
	return h.srv.RemoveHostObjects(naming.Prefix + session + "." + candidate + "."), nil
}

// TestStuckRun: a run whose worker died stays applying: up reports it stuck
// with what to do; up --force-cancel cancels it (then force-cancels it) and
// queues a new run, which fails on the objects the dead run left on the host
// unless they are swept first; down cancels a stuck run too.
func TestStuckRun(t *testing.T) {
	forDialects(t, func(t *testing.T, srv *tfetest.Server) {
		s := testSession(t, "k1", 1)
		srv.Stick = func(ws string) bool { return ws == "tl-k1_c01" }
		cfg := testConfig(srv)
		cfg.StuckAfter = 500 * time.Millisecond // a loaded machine can take 150ms over one read
		_, err := up(t, cfg, s, provision.ApplyOptions{})
		var stuck *StuckError
		if !errors.As(err, &stuck) || !strings.Contains(err.Error(), "has been applying for") || !strings.Contains(err.Error(), "tailab up --force-cancel") {
			t.Fatalf("up on a stuck run: %v", err)
		}
		// Following it again reports it again, and queues nothing.
		if _, err := up(t, cfg, s, provision.ApplyOptions{}); !errors.As(err, &stuck) || len(runsOf(srv, "tl-k1_c01")) != 1 {
			t.Fatalf("up again: %v, runs %+v", err, runsOf(srv, "tl-k1_c01"))
		}
		srv.Stick = nil
		if objs := srv.HostObjects(); len(objs) == 0 {
			t.Fatal("the stuck apply created nothing on the host")
		}
		obs, err := up(t, cfg, s, provision.ApplyOptions{ForceCancel: true})
		if err == nil || !strings.Contains(err.Error(), "errored during apply") || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "TAILAB_TF_SWEEP") {
			t.Fatalf("up --force-cancel without a sweeper: %v\n%s", err, obs.text())
		}
		if runs := runsOf(srv, "tl-k1_c01"); len(runs) != 2 || runs[0].Status != "force_canceled" {
			t.Fatalf("runs after --force-cancel: %+v", runs)
		}
		cfg.Sweeper = hostSweeper{srv}
		obs, err = up(t, cfg, s, provision.ApplyOptions{})
		if err != nil || !obs.has("left on the host: tl-k1.c01.") {
			t.Fatalf("up with a sweeper: %v\n%s", err, obs.text())
		}
		if runs := runsOf(srv, "tl-k1_c01"); len(runs) != 3 || runs[2].Status != "applied" {
			t.Fatalf("runs after the sweep: %+v", runs)
		}

		// Down cancels a stuck run, sweeps what it left, destroys the rest.
		s.LabYAML = strings.Replace(s.LabYAML, "memory: 512MiB", "memory: 1GiB", 1)
		srv.Stick = func(ws string) bool { return ws == "tl-k1_c01" }
		if _, err := up(t, cfg, s, provision.ApplyOptions{}); !errors.As(err, &stuck) {
			t.Fatalf("up of a changed lab: %v", err)
		}
		srv.Stick = nil // that run's worker is dead; the next ones have one
		if err := New(cfg).Destroy(context.Background(), s, nil, &recorder{}); err != nil {
			t.Fatalf("down: %v", err)
		}
		if ws, objs := srv.Workspaces(), srv.HostObjects(); len(ws) != 0 || len(objs) != 0 {
			t.Errorf("after down: workspaces %v, host objects %v", ws, objs)
		}
	})
}

// TestTakenName: creating a workspace whose name is taken (TFE 422, OTF
// 409) adopts it when its tags are tailab's for that lab, and otherwise
// says whose it is.
func TestTakenName(t *testing.T) {
	forDialects(t, func(t *testing.T, srv *tfetest.Server) {
		s := testSession(t, "n1", 1)
		p := newTestProvider(srv, nil)
		secrets, _ := testSecrets(t)
		plan, err := p.Plan(context.Background(), s, instances(t, s))
		if err != nil {
			t.Fatal(err)
		}
		// Made meanwhile: the management workspace by tailab, c01's by hand.
		c, err := p.tfeClient()
		if err != nil {
			t.Fatal(err)
		}
		for name, tags := range map[string][]string{"tl-n1_mgmt": Tags("n1", "", "tf-lab"), "tl-n1_c01": {"team:infra"}} {
			var tt []*tfe.Tag
			for _, n := range tags {
				tt = append(tt, &tfe.Tag{Name: n})
			}
			if _, err := c.Workspaces.Create(context.Background(), "ecole", tfe.WorkspaceCreateOptions{Name: tfe.String(name), Tags: tt}); err != nil {
				t.Fatal(err)
			}
		}
		obs := &recorder{}
		err = p.Apply(context.Background(), plan, provision.ApplyOptions{Secrets: secrets}, obs)
		if !obs.has("tl-n1_mgmt workspace exists: adopted") {
			t.Errorf("the management workspace was not adopted:\n%s", obs.text())
		}
		want := map[tfetest.Dialect]string{tfetest.TFE: "HTTP 422", tfetest.OTF: "HTTP 409"}[srv.Dialect]
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `a workspace "tl-n1_c01" exists and is not tailab's for this session (tags [team:infra]`) {
			t.Fatalf("c01's name taken by another workspace: %v", err)
		}
		if got := srv.Workspaces(); !slices.Equal(got, []string{"tl-n1_c01", "tl-n1_mgmt"}) {
			t.Errorf("workspaces %v", got)
		}
	})
}

// TestProjectChecked: a project id is read back (OTF has no projects and
// would ignore it), a name is looked up.
func TestProjectChecked(t *testing.T) {
	tests := []struct {
		dialect tfetest.Dialect
		project string
		want    string
	}{
		{tfetest.TFE, "prj-exams", ""},
		{tfetest.TFE, "prj-nope", `read project prj-nope (TFE_PROJECT): HTTP 404`},
		{tfetest.TFE, "nope", `organization "ecole" has no project "nope"`},
		{tfetest.OTF, "prj-exams", "or this server has no projects at all (OTF): fix or unset TFE_PROJECT"},
		{tfetest.OTF, "exams", "or this server has no projects at all (OTF)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.dialect)+"/"+tt.project, func(t *testing.T) {
			srv := tfetest.NewDialect(t, tt.dialect, "ecole", testToken)
			cfg := testConfig(srv)
			cfg.Project = tt.project // even in OTF
			_, err := up(t, cfg, testSession(t, "p1", 1), provision.ApplyOptions{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if ws, _ := srv.Workspace("tl-p1_c01"); ws.Project != tt.project {
					t.Errorf("project %q", ws.Project)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
