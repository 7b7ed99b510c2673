package terraform

import (
	"context"
	"slices"
	"strings"
	"testing"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// TestOrphans: `tailab gc --provider terraform` finds the workspaces of a
// session the store no longer knows (by their session tag), leaves the others,
// and removes the orphans through destroy runs, the management workspace
// after the labs' (a candidate id may sort after "mgmt").
func TestOrphans(t *testing.T) { forDialects(t, testOrphans) }

func testOrphans(t *testing.T, srv *tfetest.Server) {
	p := newTestProvider(srv, nil)
	ctx := context.Background()
	secrets, _ := testSecrets(t)
	for _, name := range []string{"gone", "kept"} {
		s := testSession(t, name, 1)
		if name == "gone" {
			s.Candidates = append(s.Candidates, labs.Candidate{ID: "pierre", Index: 2})
		}
		plan, err := p.Plan(ctx, s, instances(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Apply(ctx, plan, provision.ApplyOptions{Parallel: 2, Secrets: secrets}, &recorder{}); err != nil {
			t.Fatal(err)
		}
	}
	orphans, err := p.Orphans(ctx, map[string]bool{"kept": true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range orphans {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	if want := []string{"tl-gone_c01", "tl-gone_mgmt", "tl-gone_pierre"}; !slices.Equal(names, want) {
		t.Fatalf("orphans %v, want %v", names, want)
	}
	mgmt, _ := srv.Workspace("tl-gone_mgmt")
	before := len(srv.Calls())
	if err := p.RemoveOrphans(ctx, orphans); err != nil {
		t.Fatal(err)
	}
	// The management workspace's destroy run comes after every lab workspace is deleted.
	lastLab, mgmtRun := -1, -1
	for i, c := range srv.Calls()[before:] {
		switch {
		case c.Method == "DELETE" || strings.HasSuffix(c.Path, "/safe-delete") && c.Status < 300:
			if !strings.Contains(c.Path+"/", "/"+mgmt.ID+"/") { // ids are ws-N: ws-1 is in ws-12
				lastLab = i
			}
		case c.Method == "POST" && c.Path == "/api/v2/runs" && strings.Contains(c.Body, `"`+mgmt.ID+`"`) && mgmtRun < 0:
			mgmtRun = i
		}
	}
	if lastLab < 0 || mgmtRun < lastLab {
		t.Errorf("the management workspace was destroyed (call %d) before the last lab workspace was deleted (call %d)", mgmtRun, lastLab)
	}
	if got := srv.Workspaces(); !slices.Equal(got, []string{"tl-kept_c01", "tl-kept_mgmt"}) {
		t.Errorf("after removal: workspaces %v", got)
	}
	if again, err := p.Orphans(ctx, map[string]bool{"kept": true}); err != nil || len(again) != 0 {
		t.Errorf("gc after removal: %v %v, want clean", again, err)
	}
}
