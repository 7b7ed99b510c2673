package checks

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tailab/tailab/checks/probe"
)

// concurrentFake is the fake probe declaring that it runs a batch's requests
// at once (as ssh does); it records which requests came marked exclusive.
type concurrentFake struct {
	*fakeProbe
	mu        sync.Mutex
	exclusive []string
}

func (c *concurrentFake) Concurrency() int { return 8 }

func (c *concurrentFake) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	c.mu.Lock()
	for _, r := range reqs {
		if r.Exclusive {
			c.exclusive = append(c.exclusive, r.ID)
		}
	}
	c.mu.Unlock()
	return c.fakeProbe.Run(ctx, t, reqs)
}

// TestExclusive: `exclusive: true` loads on a probe that runs a machine's
// checks at once and reaches it on the check's request; on another probe it
// is an error at its line and column.
func TestExclusive(t *testing.T) {
	conc := &concurrentFake{fakeProbe: newFake("conc")}
	reg := probe.NewRegistry(newFake("fake"), conc)
	const head = "name: x\nchecks:\n"
	check := func(id, typ, extra string) string {
		return "  - {id: " + id + ", title: T, competence: C2.2, machine: srv, probe: {type: " + typ + "}, expect: {ok: true}" + extra + "}\n"
	}
	for _, tc := range []struct {
		name, src string
		wantErr   string
	}{
		{"concurrent probe", head + check("a", "conc", ", exclusive: true") + check("b", "conc", ""), ""},
		{"sequential probe", head + check("a", "fake", ", exclusive: true"), "x.yaml:3:107: checks[0].exclusive: the fake probe runs a machine's checks one after the other already: exclusive applies to probes that run them at once (conc)"},
		{"not a bool", head + check("a", "conc", ", exclusive: maybe"), `checks[0].exclusive: expected true or false, got "maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSuite("x.yaml", []byte(tc.src), reg, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.Checks[0].Exclusive || s.Checks[1].Exclusive {
				t.Fatalf("Exclusive = %v, %v; want true, false", s.Checks[0].Exclusive, s.Checks[1].Exclusive)
			}
			grade(t, reg, []*Suite{s}, candidate("c1", 1, "srv"))
			if strings.Join(conc.exclusive, ",") != "a" {
				t.Errorf("requests marked exclusive: %v, want [a]", conc.exclusive)
			}
		})
	}
}
