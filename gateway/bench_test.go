package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// BenchmarkTerminals opens 12 candidates × 4 terminals at once through the
// gateway, and as many direct SSH sessions to the same machines in the same
// run, then measures the keystroke round trip (one byte to a raw `cat` and
// back) on all of them at once: p50/p99 through the gateway and direct, the
// login to the first prompt through the gateway, and the gateway's peak RSS.
//
// The clients run in a process of their own (this test binary again, see
// benchClients), as they do on exam day (on the candidates' PCs): in the
// gateway's process they took its CPU and its scheduler, and every
// client-side delay of a terminal through the gateway (its goroutines, its
// collections) counted as the gateway's. Both kinds of clients share that
// process, so the direct baseline bears the same client-side load. This
// process holds the gateway (and the test's lab); its peak RSS is the
// gateway's.
//
//	go test -run '^$' -bench Terminals -benchtime 1x -v ./gateway/
func BenchmarkTerminals(b *testing.B) {
	const candidates, perCandidate, strokes = 12, 4, 50
	l := startLabN(b, candidates)
	skipContainment.Store(true)
	b.Cleanup(func() { skipContainment.Store(false) })
	l.open(b)
	labDef, err := l.sess.LoadLab()
	if err != nil {
		b.Fatal(err)
	}
	load0 := loadAverage()
	gwTerm := func(id string) benchTerminal {
		return benchTerminal{Gateway: true, Addr: l.sshAddr, User: id + "+srv", Password: l.passwords[id]}
	}
	prompts := func(rs []benchResult, gw bool) []time.Duration {
		var d []time.Duration
		for _, r := range rs {
			if r.Gateway == gw {
				d = append(d, r.Prompt)
			}
		}
		return d
	}
	// the first login of a candidate on an idle gateway: the password's
	// bcrypt, the lab resolved, the gateway's own login on the machine
	cold := runClients(b, benchSpec{Terminals: []benchTerminal{gwTerm("c01")}})[0].Prompt
	b.ResetTimer()
	for range b.N {
		spec := benchSpec{Strokes: strokes, AtOnce: true}
		for c := 1; c <= candidates; c++ {
			id := fmt.Sprintf("c%02d", c)
			secrets, err := l.st.Secrets("s1", labDef, id)
			if err != nil {
				b.Fatal(err)
			}
			for k := 0; k < perCandidate; k++ {
				spec.Terminals = append(spec.Terminals, gwTerm(id),
					benchTerminal{Addr: mgmt[id] + ":22", User: "root", Key: secrets["ssh-key"].Reveal()})
			}
		}
		cpu0, wait0 := schedStat()
		rs := runClients(b, spec)
		cpu1, wait1 := schedStat()
		cpu, wait := cpu1-cpu0, wait1-wait0
		b.ReportMetric(cpu.Seconds(), "gw-cpu-s")
		b.ReportMetric(wait.Seconds(), "gw-runqueue-s")
		var viaGW, direct []time.Duration
		for _, r := range rs {
			if r.Gateway {
				viaGW = append(viaGW, r.RTTs...)
			} else {
				direct = append(direct, r.RTTs...)
			}
		}
		firstPrompt, directPrompt := prompts(rs, true), prompts(rs, false)
		p := func(d []time.Duration, q float64) float64 {
			slices.Sort(d)
			return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(p(viaGW, 0.5), "gw-p50-ms")
		b.ReportMetric(p(viaGW, 0.99), "gw-p99-ms")
		b.ReportMetric(p(direct, 0.5), "direct-p50-ms")
		b.ReportMetric(p(direct, 0.99), "direct-p99-ms")
		b.ReportMetric(p(viaGW, 0.99)-p(direct, 0.99), "overhead-p99-ms")
		b.ReportMetric(p(firstPrompt, 0.5), "login-prompt-p50-ms")
		b.ReportMetric(p(firstPrompt, 0.99), "login-prompt-max-ms")
		b.ReportMetric(float64(peakRSS())/1024, "peak-RSS-MiB")
		// one login at a time, on an idle gateway: what a candidate waits for
		// when opening another terminal (password remembered, the machine's
		// connection pooled)
		alone := prompts(runClients(b, benchSpec{Terminals: slices.Repeat([]benchTerminal{gwTerm("c01")}, 5)}), true)
		b.ReportMetric(p(alone, 0.5), "login-prompt-alone-p50-ms")
		b.ReportMetric(float64(cold.Microseconds())/1000, "login-prompt-cold-ms")
		b.ReportMetric(p(directPrompt, 0.5), "direct-login-prompt-p50-ms")
		// what one bcrypt of a first login costs on this host now
		h, _ := bcrypt.GenerateFromPassword([]byte("x"), bcryptCost)
		t0 := time.Now()
		_ = bcrypt.CompareHashAndPassword(h, []byte("x"))
		bc := float64(time.Since(t0).Microseconds()) / 1000
		b.ReportMetric(bc, "bcrypt-ms")
		b.Logf("%d candidates x %d terminals: keystroke round trip p50 %.1f ms through the gateway vs %.1f direct, p99 %.1f vs %.1f (overhead at p99 %.1f ms, target ≤ 2); "+
			"login to first prompt: first login %.0f ms (one bcrypt: %.0f ms), next ones %.0f ms (p50 alone), %.0f ms p50 (max %.0f) when all log in at once (direct: %.0f ms p50, max %.0f); "+
			"gateway peak RSS %.0f MiB (clients' process: %.0f MiB); the gateway's process used %.2f s of CPU over the logins and typing and its threads waited %.2f s for a CPU (run queue); load average %s → %s",
			candidates, perCandidate, p(viaGW, 0.5), p(direct, 0.5), p(viaGW, 0.99), p(direct, 0.99), p(viaGW, 0.99)-p(direct, 0.99),
			float64(cold.Microseconds())/1000, bc, p(alone, 0.5), p(firstPrompt, 0.5), p(firstPrompt, 1), p(directPrompt, 0.5), p(directPrompt, 1),
			float64(peakRSS())/1024, float64(rs[0].ClientsRSS)/1024, cpu.Seconds(), wait.Seconds(), load0, loadAverage())
	}
}

// benchTerminal is a terminal the clients' process opens: through the
// gateway with a password, or straight to the machine with its key.
type benchTerminal struct {
	Gateway                   bool
	Addr, User, Password, Key string
}

// benchSpec is what the clients' process does: open the terminals one
// after the other (a login's time alone), or all at once and then type
// Strokes keys into each, all at the same time.
type benchSpec struct {
	Terminals []benchTerminal
	Strokes   int
	AtOnce    bool
}

// benchResult is one terminal's measures.
type benchResult struct {
	Gateway    bool
	Prompt     time.Duration // from the dial to the first output
	RTTs       []time.Duration
	Err        string
	ClientsRSS int // the clients' process's peak RSS, KiB
}

// benchClientsEnv makes the test binary the benchmark's clients' process
// (TestMain): spec on stdin, results on stdout.
const benchClientsEnv = "TAILAB_BENCH_CLIENTS"

// runClients runs spec in a clients' process and returns its results.
func runClients(b *testing.B, spec benchSpec) []benchResult {
	b.Helper()
	in, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchClientsEnv+"=1")
	cmd.Stdin, cmd.Stderr = bytes.NewReader(in), os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("clients' process: %v", err)
	}
	var rs []benchResult
	if err := json.Unmarshal(out, &rs); err != nil {
		b.Fatalf("clients' process: %v", err)
	}
	for _, r := range rs {
		if r.Err != "" {
			b.Fatal(r.Err)
		}
	}
	return rs
}

// benchClients is the clients' process: it reads a benchSpec on stdin and
// writes its []benchResult on stdout.
func benchClients() int {
	var spec benchSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		fmt.Fprintln(os.Stderr, "bench clients:", err)
		return 2
	}
	rs := make([]benchResult, len(spec.Terminals))
	var wg, ready, release sync.WaitGroup
	ready.Add(len(spec.Terminals))
	release.Add(1)
	run := func(i int) {
		t := spec.Terminals[i]
		cfg := &ssh.ClientConfig{User: t.User, Auth: []ssh.AuthMethod{ssh.Password(t.Password)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
		if t.Key != "" {
			signer, err := ssh.ParsePrivateKey([]byte(t.Key))
			if err != nil {
				rs[i].Err = err.Error()
				ready.Done()
				return
			}
			cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
		}
		start := time.Now()
		rtts, prompt, err := keystrokes(t.Addr, cfg, spec.Strokes, &ready, &release)
		rs[i] = benchResult{Gateway: t.Gateway, Prompt: prompt.Sub(start), RTTs: rtts}
		if err != nil {
			rs[i].Err = fmt.Sprintf("%s@%s (gateway %v): %v", t.User, t.Addr, t.Gateway, err)
		}
	}
	if spec.AtOnce {
		for i := range spec.Terminals {
			wg.Add(1)
			go func() { defer wg.Done(); run(i) }()
		}
		go func() { ready.Wait(); release.Done() }()
		wg.Wait()
	} else {
		release.Done()
		for i := range spec.Terminals {
			run(i)
		}
	}
	for i := range rs {
		rs[i].ClientsRSS = peakRSS()
	}
	if err := json.NewEncoder(os.Stdout).Encode(rs); err != nil {
		return 2
	}
	return 0
}

// schedStat sums this process's threads' CPU time and time spent runnable
// but waiting for a CPU (/proc/self/task/*/schedstat): what the host's load
// took from the gateway, beside what it did.
func schedStat() (cpu, wait time.Duration) {
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		var c, w int64
		if _, err := fmt.Sscan(string(b), &c, &w); err == nil {
			cpu += time.Duration(c)
			wait += time.Duration(w)
		}
	}
	return cpu, wait
}

// loadAverage is the host's load average over the last minute.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// keystrokes opens a shell with a pty on addr, puts it in raw mode running
// cat, signals ready and waits for release (every terminal open at once),
// then sends n single bytes, each after the previous one came back.
func keystrokes(addr string, cfg *ssh.ClientConfig, n int, ready, release *sync.WaitGroup) ([]time.Duration, time.Time, error) {
	signalled := false
	defer func() {
		if !signalled {
			ready.Done()
		}
	}()
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return nil, time.Time{}, err
	}
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Shell(); err != nil {
		return nil, time.Time{}, err
	}
	buf := make([]byte, 4096)
	var seen bytes.Buffer
	var prompt time.Time
	readUntil := func(want string) error {
		for !strings.Contains(seen.String(), want) {
			k, err := out.Read(buf)
			if err != nil {
				return fmt.Errorf("read: %w (after %q)", err, seen.String())
			}
			if prompt.IsZero() {
				prompt = time.Now()
			}
			seen.Write(buf[:k])
		}
		return nil
	}
	if err := readUntil("# "); err != nil {
		return nil, prompt, err
	}
	fmt.Fprint(in, "stty raw -echo; echo READY; exec cat\r")
	if err := readUntil("READY\n"); err != nil { // raw mode: no \r added
		return nil, prompt, err
	}
	ready.Done()
	signalled = true
	release.Wait()
	rtts := make([]time.Duration, 0, n)
	one := make([]byte, 1)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := in.Write([]byte{'a' + byte(i%26)}); err != nil {
			return nil, prompt, err
		}
		if _, err := out.Read(one); err != nil {
			return nil, prompt, err
		}
		rtts = append(rtts, time.Since(t0))
		time.Sleep(20 * time.Millisecond) // typing, not a flood
	}
	return rtts, prompt, nil
}

// peakRSS is this process's peak resident set (VmHWM), in KiB.
func peakRSS() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int
			fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%d", &kb)
			return kb
		}
	}
	return 0
}
