package labs

import (
	"fmt"
	"strings"
	"testing"
)

// TestDistinctDrawNeighbours: draws of 12 candidates of ccp3-support-local
// (every fault group and most pick parameters distinct), seated P01..P12 in
// shuffled roster order, in 20 sessions: no two adjacent seats share a fault
// set, nor any fault, nor the value of a distinct parameter, no two seats two
// apart share a fault set (as the resolved lab has it), and
// a draw is the same when drawn again (a re-creation keeps it).
func TestDistinctDrawNeighbours(t *testing.T) {
	src, err := BuiltinSource("ccp3-support-local")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := Load("ccp3-support-local.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	var distinct []string
	for name, p := range lab.Parameters {
		if p.Distinct {
			distinct = append(distinct, name)
		}
	}
	if len(distinct) < 4 {
		t.Fatalf("ccp3-support-local has %d distinct parameters (%v), want the drawn names of its ticket and share", len(distinct), distinct)
	}
	kinds := map[string]bool{}
	for n := 1; n <= 20; n++ { // 20 sessions: a draw that ignores the seats fails one
		session := fmt.Sprintf("s%d", n)
		sets := map[int]string{}
		params := map[int]map[string]any{}
		for i, seat := range []int{7, 2, 11, 4, 1, 9, 12, 3, 6, 10, 5, 8} {
			c := Candidate{ID: fmt.Sprintf("c%02d", i+1), Index: i + 1, Seat: fmt.Sprintf("P%02d", seat)}
			sets[seat] = faultSet(lab.FaultsFor(session, c))
			if again := faultSet(lab.FaultsFor(session, c)); again != sets[seat] {
				t.Errorf("%s %s: a second draw differs: %s, then %s", session, c.ID, sets[seat], again)
			}
			in, err := lab.Resolve(ResolveInput{Session: session, Candidate: c})
			if err != nil {
				t.Fatal(err)
			}
			params[seat] = in.Params
			for _, kv := range lab.PickedParams(session, c) { // what up --dry-run shows is what the lab gets
				k, v, _ := strings.Cut(strings.TrimSuffix(kv, "*"), "=")
				if fmt.Sprint(in.Params[k]) != v {
					t.Errorf("%s %s: --dry-run shows %s, the lab has %v", session, c.ID, kv, in.Params[k])
				}
			}
		}
		for seat := 1; seat <= 12; seat++ {
			kinds[sets[seat]] = true
			if seat == 1 {
				continue
			}
			if sets[seat] == sets[seat-1] {
				t.Errorf("%s: seats %d and %d share the fault set %s", session, seat-1, seat, sets[seat])
			}
			if seat > 2 && sets[seat] == sets[seat-2] {
				t.Errorf("%s: seats %d and %d (two apart) share the fault set %s", session, seat-2, seat, sets[seat])
			}
			for _, f := range strings.Split(sets[seat], ",") {
				if strings.Contains(","+sets[seat-1]+",", ","+f+",") {
					t.Errorf("%s: seats %d and %d share the fault %s (every group is distinct)", session, seat-1, seat, f)
				}
			}
			for _, name := range distinct {
				if params[seat][name] == params[seat-1][name] {
					t.Errorf("%s: seats %d and %d share %s=%v", session, seat-1, seat, name, params[seat][name])
				}
			}
		}
	}
	if len(kinds) < 12 {
		t.Errorf("only %d different fault sets drawn", len(kinds))
	}
}

func faultSet(fs []Fault) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

func TestSeatPosition(t *testing.T) {
	for _, tt := range []struct {
		c    Candidate
		want int
	}{
		{Candidate{Seat: "P07", Index: 3}, 7},
		{Candidate{Seat: "12", Index: 3}, 12},
		{Candidate{Seat: "fenêtre", Index: 3}, 3},
		{Candidate{Index: 5}, 5},
		{Candidate{}, 1},
	} {
		if got := SeatPosition(tt.c); got != tt.want {
			t.Errorf("SeatPosition(%+v) = %d, want %d", tt.c, got, tt.want)
		}
	}
}
