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

// TestRequestsGrowLinearly: the API requests an up makes grow linearly with
// the labs (the same count per lab for 10, 20 and 30 labs, one workspace at a
// time), so the client's cost per lab does not grow with the session. The
// count is deterministic; the time it costs is measured by
// BenchmarkClientOverheadScales, never asserted in a test (a noisy 2-core
// machine makes any time budget flaky).
func TestRequestsGrowLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds")
	}
	var reqs [3]int
	for i, n := range []int{10, 20, 30} {
		_, _, reqs[i] = upOnce(t, n, 1, 0)
		t.Logf("%2d labs: %d requests (%.1f per lab)", n, reqs[i], float64(reqs[i])/float64(n))
	}
	per10, per20 := reqs[1]-reqs[0], reqs[2]-reqs[1]
	if per10 != per20 {
		t.Errorf("10 more labs cost %d requests from 10 to 20 labs but %d from 20 to 30: not linear", per10, per20)
	}
	if per10/10 > 30 {
		t.Errorf("%d requests per lab, more than 30", per10/10)
	}
}

// BenchmarkClientOverheadScales: the client-side time of an up — wall time
// minus the delays the server injected (1 ms per request), one workspace at a
// time so the two add up exactly; the in-process server's own CPU counts as
// client time, an upper bound — for 10 and 30 labs, with the ratio 30/10
// (linear: 3) measured in the same run. Target: 30 labs under 1.5 s.
//
//	go test -run '^$' -bench ClientOverheadScales -benchtime 3x ./provision/terraform/
func BenchmarkClientOverheadScales(b *testing.B) {
	const delay = time.Millisecond
	upOnce(b, 2, 1, 0) // warm up: templates, connections, allocator
	var over10, over30 time.Duration
	for b.Loop() {
		wall, injected, _ := upOnce(b, 10, 1, delay)
		over10 += wall - injected
		wall, injected, _ = upOnce(b, 30, 1, delay)
		over30 += wall - injected
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((over10 / n).Milliseconds()), "ms-client-10labs")
	b.ReportMetric(float64((over30 / n).Milliseconds()), "ms-client-30labs")
	b.ReportMetric(float64(over30)/float64(over10), "ratio-30/10")
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
