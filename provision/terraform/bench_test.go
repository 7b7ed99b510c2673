package terraform

import (
	"context"
	"fmt"
	"testing"
	"time"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
	"github.com/tailab/tailab/provision"
)

// upOnce brings n candidate labs up from scratch against a fresh test server
// that adds delay to every API request, and returns the wall time and the
// delay the server injected. PollInterval is ~0: runs advance one status per
// read, so the client never waits for anything but the server's answers.
func upOnce(tb testing.TB, n, parallel int, delay time.Duration) (wall, injected time.Duration, requests int) {
	srv := tfetest.New(tb, "ecole", testToken)
	srv.Delay = delay
	cfg := newTestProvider(srv, nil).cfg
	cfg.PollInterval = time.Nanosecond
	p := New(cfg)
	s := testSession(tb, fmt.Sprintf("b%d", n), n)
	ins := instances(tb, s)
	secrets, _ := testSecrets(tb)
	start := time.Now()
	plan, err := p.Plan(context.Background(), s, ins)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Apply(context.Background(), plan, provision.ApplyOptions{Parallel: parallel, Secrets: secrets}, &recorder{}); err != nil {
		tb.Fatal(err)
	}
	wall = time.Since(start)
	if got := len(srv.Workspaces()); got != n+1 {
		tb.Fatalf("%d workspaces, want %d", got, n+1)
	}
	return wall, srv.Injected(), len(srv.Calls())
}

// TestClientOverheadScales: 30 candidate labs (3 machines, 12 resources
// each) cost under 1.5 s of client-side time — wall time minus the delays
// the server injected, measured one workspace at a time so the two add up
// exactly (the in-process server's own CPU time counts as client time: an
// upper bound) — and the overhead grows linearly (10, 20, 30 labs).
func TestClientOverheadScales(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds")
	}
	const delay = time.Millisecond
	upOnce(t, 2, 1, 0) // warm up: templates, TLS-less connections, allocator
	var per [3]time.Duration
	for i, n := range []int{10, 20, 30} {
		wall, injected, reqs := upOnce(t, n, 1, delay)
		over := wall - injected
		per[i] = over
		t.Logf("%2d labs: wall %v, injected server delay %v (%d requests), client overhead %v (%v per lab)",
			n, wall.Round(time.Millisecond), injected, reqs, over.Round(time.Millisecond), (over / time.Duration(n)).Round(10*time.Microsecond))
	}
	r20, r30 := float64(per[1])/float64(per[0]), float64(per[2])/float64(per[0])
	t.Logf("overhead ratio 20/10 = %.2f (linear: 2), 30/10 = %.2f (linear: 3)", r20, r30)
	if per[2] > 1500*time.Millisecond {
		t.Errorf("30 labs cost %v of client time, budget 1.5s", per[2])
	}
	if r30 > 4.5 || r30 < 1.8 {
		t.Errorf("overhead does not grow linearly: 30/10 ratio %.2f", r30)
	}
	wall, injected, _ := upOnce(t, 30, 8, delay)
	t.Logf("30 labs, 8 workspaces at once: wall %v (server delay %v spread over 8 connections)", wall.Round(time.Millisecond), injected)
}

// BenchmarkUp30 brings 30 candidate labs up against the test server (no
// injected delay, 8 at once) and reports the client time per lab.
func BenchmarkUp30(b *testing.B) {
	for b.Loop() {
		wall, _, reqs := upOnce(b, 30, 8, 0)
		b.ReportMetric(float64(wall.Microseconds())/30, "µs/lab")
		b.ReportMetric(float64(reqs)/30, "requests/lab")
	}
}
