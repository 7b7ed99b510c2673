package checks

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/checks/probe"
)

const vantageSuiteA = `
name: a
checks:
  - {id: ping-srv, title: T, competence: C3.4, machine: srv, from: pc1, probe: {type: fake}, expect: {ok: true}}
  - {id: shared, title: T, competence: C3.4, machine: srv, probe: {type: fake}, expect: {ok: true}}
jury:
  - {id: jury-a, competence: C3.1, title: J}
`

const vantageSuiteB = `
name: b
checks:
  - {id: shared, title: T, competence: C3.4, machine: pc1, probe: {type: fake}, expect: {ok: true}}
`

func TestVantages(t *testing.T) {
	reg := probe.NewRegistry(newFake("fake"))
	suites := []*Suite{suiteFrom(t, reg, vantageSuiteA), suiteFrom(t, reg, vantageSuiteB)}
	cands := []Candidate{candidate("c01", 1, "srv", "pc1", "gw"), candidate("c02", 2, "srv", "pc1")}
	nets := map[string]map[string][]NetAddress{
		"c01": {
			"srv": {{"dmz", "172.16.0.10"}, {"lan", "10.20.0.10"}},
			"pc1": {{"lan", "10.20.0.21"}},
			"gw":  {{"wan", "203.0.113.1"}},
		},
	}
	v, err := NewVantages(suites, cands, nets)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("request ids", func(t *testing.T) {
		for _, tc := range []struct{ req, machine, from string }{
			{"ping-srv", "srv", "pc1"},
			{"a/shared", "srv", ""}, // the Runner qualifies ids two suites share
			{"b/shared", "pc1", ""},
		} {
			c := v.Check(tc.req)
			if c == nil || c.Machine != tc.machine || c.From != tc.from {
				t.Errorf("Check(%q) = %+v", tc.req, c)
			}
		}
		for _, id := range []string{"shared", "jury-a", "nope"} {
			if c := v.Check(id); c != nil {
				t.Errorf("Check(%q) = %+v, want nil", id, c)
			}
		}
	})

	t.Run("targets", func(t *testing.T) {
		tests := []struct {
			cand, machine, addr, errSub string
		}{
			{"c01", "pc1", "10.0.1.2", ""},
			{"c02", "pc1", "10.0.2.2", ""}, // each candidate their own machine
			{"c02", "gw", "", `machine "gw" not in candidate c02's inventory`},
			{"c01", "pc2", "", `did you mean "pc1"?`},
			{"c09", "pc1", "", `unknown candidate "c09"`},
		}
		for _, tc := range tests {
			got, err := v.Target(tc.cand, tc.machine)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Errorf("Target(%s, %s) err = %v, want %q", tc.cand, tc.machine, err, tc.errSub)
				}
				continue
			}
			if err != nil || got.Address != tc.addr || got.Candidate != tc.cand {
				t.Errorf("Target(%s, %s) = %+v, %v", tc.cand, tc.machine, got, err)
			}
		}
	})

	t.Run("lab addresses", func(t *testing.T) {
		tests := []struct {
			cand, machine, from, want string
			ok                        bool
		}{
			{"c01", "srv", "pc1", "10.20.0.10", true}, // the network they share
			{"c01", "srv", "gw", "172.16.0.10", true}, // none shared: the first one
			{"c01", "srv", "", "172.16.0.10", true},   // no vantage
			{"c01", "nas", "pc1", "", false},          // unknown machine
			{"c02", "srv", "pc1", "", false},          // no lab addresses known
		}
		for _, tc := range tests {
			got, ok := v.LabAddress(tc.cand, tc.machine, tc.from)
			if got != tc.want || ok != tc.ok {
				t.Errorf("LabAddress(%s, %s, %s) = %q, %v; want %q, %v", tc.cand, tc.machine, tc.from, got, ok, tc.want, tc.ok)
			}
		}
	})

	var none *Vantages
	if _, err := none.Target("c01", "pc1"); err == nil || none.Check("x") != nil {
		t.Error("a nil Vantages resolves nothing")
	}
}
