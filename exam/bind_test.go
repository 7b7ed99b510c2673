package exam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/labs"
)

// TestBuiltinSuitesLoad loads every built-in lab's suites with the real probe
// registry and checks their templates render for a resolved candidate.
func TestBuiltinSuitesLoad(t *testing.T) {
	entries, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	reg := Probes()
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			lab, err := labs.LoadBuiltin(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(lab.Checks) == 0 {
				t.Skip("no suites")
			}
			suites, err := LoadSuites(lab, reg)
			if err != nil {
				t.Fatalf("load suites: %v", err)
			}
			in, err := lab.Resolve(labs.ResolveInput{Session: "t", Candidate: labs.Candidate{ID: "c01", Index: 1}})
			if err != nil {
				t.Fatal(err)
			}
			cand := checks.Candidate{ID: "c01", Params: in.Params, Machines: map[string]probe.Target{}}
			for _, m := range in.Machines {
				cand.Machines[m.Name] = probe.Target{Machine: m.Name, Address: "192.0.2.1"}
			}
			// A cancelled context: templates render for the candidate, nothing is observed.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			r := &checks.Runner{Registry: reg}
			rep, err := r.Run(ctx, checks.Session{ID: "t", Lab: lab.Name, StartedAt: time.Now()}, suites, []checks.Candidate{cand})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("run: want context.Canceled (templates rendered), got %v", err)
			}
			if rep == nil || len(rep.Candidates) != 1 || len(rep.Candidates[0].Results) == 0 {
				t.Fatalf("report: %+v", rep)
			}
		})
	}
}

func TestFilterCompetences(t *testing.T) {
	lab, err := labs.LoadBuiltin("tpe-local")
	if err != nil {
		t.Fatal(err)
	}
	suites, err := LoadSuites(lab, Probes())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		competences []string
		want        []string // check and jury ids
		wantErr     bool
	}{
		{"all", nil, []string{"srv-ssh", "srv-hostname", "pc1-joint-srv", "dns-actif", "dns-resolution", "dossier-partage", "jury-accueil", "jury-explication-partage"}, false},
		{"C1.3 with its dependency", []string{"C1.3"}, []string{"srv-ssh", "srv-hostname"}, false},
		{"C3.4", []string{"C3.4"}, []string{"pc1-joint-srv"}, false},
		{"jury only", []string{"C3.1"}, []string{"jury-accueil"}, false},
		{"unknown", []string{"C9.9"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FilterCompetences(suites, tt.competences)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var ids []string
			for _, s := range got {
				for _, c := range s.Checks {
					ids = append(ids, c.ID)
				}
				for _, j := range s.Jury {
					ids = append(ids, j.ID)
				}
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("ids = %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("ids = %v, want %v", ids, tt.want)
				}
			}
		})
	}
	if n := len(suites[0].Checks); n != 6 {
		t.Errorf("filtering changed the loaded suite: %d checks", n)
	}
}
