package tfe

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"
)

func client(t *testing.T, s *Server) *tfe.Client {
	t.Helper()
	c, err := tfe.NewClient(&tfe.Config{Address: s.URL, Token: s.Token, RetryLogHook: func(int, *http.Response) {}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withStatus runs f and returns the HTTP status of its last response.
func withStatus(f func(ctx context.Context) error) (int, error) {
	status := 0
	ctx := tfe.ContextWithResponseHeaderHook(context.Background(), func(s int, _ http.Header) { status = s })
	err := f(ctx)
	return status, err
}

// TestDialects: every row where OTF answers differently from TFE, in both dialects.
func TestDialects(t *testing.T) {
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := NewDialect(t, d, "ecole", "tok")
			c := client(t, s)
			ctx := context.Background()
			otf := d == OTF

			// An existing name: 409 (OTF) or 422 (TFE).
			opts := tfe.WorkspaceCreateOptions{Name: tfe.String("w1"), Project: &tfe.Project{ID: "prj-exams"}}
			w, err := c.Workspaces.Create(ctx, "ecole", opts)
			if err != nil {
				t.Fatal(err)
			}
			st, err := withStatus(func(ctx context.Context) error { _, err := c.Workspaces.Create(ctx, "ecole", opts); return err })
			if want := map[bool]int{true: 409, false: 422}[otf]; err == nil || st != want {
				t.Errorf("create an existing name: %d %v, want %d", st, err, want)
			}
			// Projects: none in OTF (404, a project at creation ignored).
			wi, _ := s.Workspace("w1")
			if want := map[bool]string{true: "prj-default", false: "prj-exams"}[otf]; wi.Project != want {
				t.Errorf("workspace project %q, want %q", wi.Project, want)
			}
			st, _ = withStatus(func(ctx context.Context) error { _, err := c.Projects.Read(ctx, "prj-exams"); return err })
			if want := map[bool]int{true: 404, false: 200}[otf]; st != want {
				t.Errorf("read project: %d, want %d", st, want)
			}
			// Values trimmed by OTF.
			v, err := c.Variables.Create(ctx, w.ID, tfe.VariableCreateOptions{Key: tfe.String("k"), Value: tfe.String("ssh-ed25519 AAA\n"), Category: tfe.Category(tfe.CategoryTerraform)})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "ssh-ed25519 AAA", false: "ssh-ed25519 AAA\n"}[otf]; v.Value != want {
				t.Errorf("stored value %q, want %q", v.Value, want)
			}
			// A run: message kept by TFE only; include ignored by OTF.
			cv, _ := c.ConfigurationVersions.Create(ctx, w.ID, tfe.ConfigurationVersionCreateOptions{AutoQueueRuns: tfe.Bool(false)})
			mod := map[string][]byte{"main.tf": []byte("variable \"k\" {}\nresource \"terraform_data\" \"a\" {\n  input = 1\n}\n")}
			if err := c.ConfigurationVersions.UploadTarGzip(ctx, cv.UploadURL, tarGz(t, mod)); err != nil {
				t.Fatal(err)
			}
			for cv.Status != tfe.ConfigurationUploaded {
				cv, _ = c.ConfigurationVersions.Read(ctx, cv.ID)
			}
			r, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, ConfigurationVersion: cv, Message: tfe.String("hello")})
			if err != nil {
				t.Fatal(err)
			}
			r, _ = c.Runs.ReadWithOptions(ctx, r.ID, &tfe.RunReadOptions{Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}})
			if want := map[bool]string{true: "", false: "hello"}[otf]; r.Message != want {
				t.Errorf("run message %q, want %q", r.Message, want)
			}
			if (r.Plan.Status == "") != otf {
				t.Errorf("plan included: %+v", r.Plan)
			}
			// A wrong transition: 500 (OTF) or 409 (TFE).
			st, _ = withStatus(func(ctx context.Context) error { return c.Runs.Apply(ctx, r.ID, tfe.RunApplyOptions{}) })
			if want := map[bool]int{true: 500, false: 409}[otf]; st != want {
				t.Errorf("confirm too early: %d, want %d", st, want)
			}
			// No safe-delete in OTF: "404 page not found"; DELETE works.
			st, err = withStatus(func(ctx context.Context) error { return c.Workspaces.SafeDeleteByID(ctx, w.ID) })
			if otf && (st != 404 || s.Calls()[len(s.Calls())-1].Status != 404) {
				t.Errorf("safe-delete in OTF: %d %v", st, err)
			}
			if !otf && st != 204 {
				t.Errorf("safe-delete of a workspace with no state in TFE: %d %v, want 204", st, err)
			}
			_ = c.Workspaces.DeleteByID(ctx, w.ID)
			if _, err := c.Workspaces.ReadByID(ctx, w.ID); !errors.Is(err, tfe.ErrResourceNotFound) {
				t.Errorf("workspace read back after DELETE: %v", err)
			}
		})
	}
}

func tarGz(t *testing.T, files map[string][]byte) *bytes.Buffer {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for n, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	gz.Close()
	return &b
}

// upload makes an uploaded configuration version of files in workspace w.
func upload(t *testing.T, c *tfe.Client, w *tfe.Workspace, files map[string][]byte) *tfe.ConfigurationVersion {
	t.Helper()
	ctx := context.Background()
	cv, err := c.ConfigurationVersions.Create(ctx, w.ID, tfe.ConfigurationVersionCreateOptions{AutoQueueRuns: tfe.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigurationVersions.UploadTarGzip(ctx, cv.UploadURL, tarGz(t, files)); err != nil {
		t.Fatal(err)
	}
	for cv.Status != tfe.ConfigurationUploaded {
		cv, _ = c.ConfigurationVersions.Read(ctx, cv.ID)
	}
	return cv
}

// runTo reads a run until it has status st (or ends), confirming it when asked.
func runTo(t *testing.T, c *tfe.Client, id string, st tfe.RunStatus) *tfe.Run {
	t.Helper()
	for i := 0; i < 50; i++ {
		r, err := c.Runs.Read(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Actions.IsConfirmable {
			c.Runs.Apply(context.Background(), id, tfe.RunApplyOptions{})
		}
		if r.Status == st || runEnded(r.Status) {
			return r
		}
	}
	t.Fatalf("run %s never reached %s", id, st)
	return nil
}

const netModule = "resource \"libvirt_network\" \"lan\" {\n  name = \"tl-s.c01.lan\"\n}\n"

// TestRestartAndStuckRuns: while down, connections are refused; a graceful
// restart cancels the runs in progress; a dead runner leaves a run applying
// for good (cancel, then force-cancel after the cool-off) and its objects on
// the host, so the next apply of the same names fails until they are removed.
func TestRestartAndStuckRuns(t *testing.T) {
	s := New(t, "ecole", "tok")
	c := client(t, s)
	ctx := context.Background()
	w, _ := c.Workspaces.Create(ctx, "ecole", tfe.WorkspaceCreateOptions{Name: tfe.String("w")})
	mod := map[string][]byte{"main.tf": []byte(netModule)}
	r, _ := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, ConfigurationVersion: upload(t, c, w, mod)})
	runTo(t, c, r.ID, tfe.RunPlanning)

	s.Down(RunsCanceled)
	if _, err := http.Get(s.URL + "/api/v2/ping"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while down: %v, want connection refused", err)
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	if r, _ = c.Runs.Read(ctx, r.ID); r.Status != tfe.RunCanceled {
		t.Errorf("after a graceful restart: run %s", r.Status)
	}

	r, _ = c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, ConfigurationVersion: upload(t, c, w, mod)})
	runTo(t, c, r.ID, tfe.RunApplying)
	s.Restart(50*time.Millisecond, RunsStuck)
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 5; i++ {
		if r, _ = c.Runs.Read(ctx, r.ID); r.Status != tfe.RunApplying {
			t.Fatalf("a run whose runner died: %s, want applying for good", r.Status)
		}
	}
	if err := c.Runs.ForceCancel(ctx, r.ID, tfe.RunForceCancelOptions{}); err == nil {
		t.Error("force-cancel before a cancel was accepted")
	}
	if err := c.Runs.Cancel(ctx, r.ID, tfe.RunCancelOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(s.CoolOff)
	if r, _ = c.Runs.Read(ctx, r.ID); !r.Actions.IsForceCancelable || r.Status != tfe.RunApplying {
		t.Fatalf("after cancel and cool-off: %s, force-cancelable %v", r.Status, r.Actions.IsForceCancelable)
	}
	if err := c.Runs.ForceCancel(ctx, r.ID, tfe.RunForceCancelOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := s.HostObjects(); len(got) != 1 || got[0] != "tl-s.c01.lan w" {
		t.Fatalf("host objects after the dead run: %v", got)
	}
	r, _ = c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, ConfigurationVersion: upload(t, c, w, mod)})
	if r = runTo(t, c, r.ID, tfe.RunApplied); r.Status != tfe.RunErrored {
		t.Fatalf("apply over a leftover object: %s", r.Status)
	}
	if got := s.RemoveHostObjects("tl-s.c01."); len(got) != 1 {
		t.Fatalf("removed %v", got)
	}
	r, _ = c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, ConfigurationVersion: upload(t, c, w, mod)})
	if r = runTo(t, c, r.ID, tfe.RunApplied); r.Status != tfe.RunApplied {
		t.Fatalf("apply after the sweep: %s", r.Status)
	}
}

// TestDialectCountsAndForceCancel: OTF's plans and applies carry no resource
// counts (the plan says it has changes); OTF says a run is force-cancelable
// as soon as a cancel was asked, but refuses the force-cancel (500) until
// the cool-off has passed; TFE says so only then.
func TestDialectCountsAndForceCancel(t *testing.T) {
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := NewDialect(t, d, "ecole", "tok")
			s.CoolOff = 200 * time.Millisecond
			c := client(t, s)
			ctx := context.Background()
			otf := d == OTF
			w, _ := c.Workspaces.Create(ctx, "ecole", tfe.WorkspaceCreateOptions{Name: tfe.String("w")})
			r, _ := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, ConfigurationVersion: upload(t, c, w, map[string][]byte{"main.tf": []byte(netModule)})})
			if r = runTo(t, c, r.ID, tfe.RunApplied); r.Status != tfe.RunApplied {
				t.Fatalf("run %s", r.Status)
			}
			pl, err := c.Plans.Read(ctx, r.Plan.ID)
			if err != nil {
				t.Fatal(err)
			}
			ap, err := c.Applies.Read(ctx, r.Apply.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 0, false: 1}[otf]; pl.ResourceAdditions != want || ap.ResourceAdditions != want || !pl.HasChanges {
				t.Errorf("plan %+v, apply %+v: want %d additions, has changes", pl, ap, want)
			}

			s.Stick = func(string) bool { return true }
			r, _ = c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: w, IsDestroy: tfe.Bool(true)})
			runTo(t, c, r.ID, tfe.RunApplying)
			c.Runs.Read(ctx, r.ID) // the next read finds it stuck
			if err := c.Runs.Cancel(ctx, r.ID, tfe.RunCancelOptions{}); err != nil {
				t.Fatal(err)
			}
			r, _ = c.Runs.Read(ctx, r.ID)
			if r.Actions.IsForceCancelable != otf || r.ForceCancelAvailableAt.IsZero() {
				t.Errorf("right after cancel: force-cancelable %v (available at %v), want %v", r.Actions.IsForceCancelable, r.ForceCancelAvailableAt, otf)
			}
			st, _ := withStatus(func(ctx context.Context) error { return c.Runs.ForceCancel(ctx, r.ID, tfe.RunForceCancelOptions{}) })
			if want := map[bool]int{true: 500, false: 409}[otf]; st != want {
				t.Errorf("force-cancel during the cool-off: %d, want %d", st, want)
			}
			time.Sleep(s.CoolOff)
			if r, _ = c.Runs.Read(ctx, r.ID); !r.Actions.IsForceCancelable {
				t.Error("after the cool-off: not force-cancelable")
			}
			if err := c.Runs.ForceCancel(ctx, r.ID, tfe.RunForceCancelOptions{}); err != nil {
				t.Errorf("force-cancel after the cool-off: %v", err)
			}
		})
	}
}
