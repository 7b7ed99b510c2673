package provision

import "testing"

// A pin set on a ready state is recorded, survives the states written after it
// without one, and is replaced by the next one set.
func TestTLSPinRecorded(t *testing.T) {
	st, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	get := func() string {
		t.Helper()
		ms, err := st.Machines("pin")
		if err != nil || len(ms) != 1 {
			t.Fatalf("machines %+v, err %v", ms, err)
		}
		return ms[0].TLSPin
	}
	m := MachineState{Session: "pin", Candidate: "c01", Machine: "dc", OS: "windows", State: StateRunning}
	for _, step := range []struct {
		what  string
		pin   string
		state string
		want  string
	}{
		{"created, not ready yet", "", StateRunning, ""},
		{"ready: the pin found while waiting", "aaaa", StateReady, "aaaa"},
		{"a state without a pin (status, another process)", "", StateRunning, "aaaa"},
		{"up again: a new certificate pinned", "bbbb", StateReady, "bbbb"},
	} {
		m.State, m.TLSPin = step.state, step.pin
		if err := st.PutMachine(m); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != step.want {
			t.Fatalf("%s: pin %q, want %q", step.what, got, step.want)
		}
	}
	// Another candidate's machine of the same name is not concerned.
	if err := st.PutMachines([]MachineState{{Session: "pin", Candidate: "c02", Machine: "dc"}}); err != nil {
		t.Fatal(err)
	}
	ms, _ := st.Machines("pin")
	if len(ms) != 2 || ms[1].Candidate != "c02" || ms[1].TLSPin != "" {
		t.Fatalf("machines %+v", ms)
	}
}
