package gateway

import (
	"bytes"
	"fmt"
	"os"
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
// login to the first prompt through the gateway, and the process's peak RSS
// (gateway, clients and all).
//
//	go test -run '^$' -bench Terminals -benchtime 1x ./gateway/
func BenchmarkTerminals(b *testing.B) {
	const candidates, perCandidate, strokes = 12, 4, 50
	l := startLabN(b, candidates)
	skipContainment = true
	b.Cleanup(func() { skipContainment = false })
	l.open(b)
	labDef, err := l.sess.LoadLab()
	if err != nil {
		b.Fatal(err)
	}
	login := func(id string) time.Duration {
		var r, rel sync.WaitGroup
		r.Add(1)
		cfg := &ssh.ClientConfig{User: id + "+srv", Auth: []ssh.AuthMethod{ssh.Password(l.passwords[id])},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
		start := time.Now()
		_, prompt, err := keystrokes(l.sshAddr, cfg, 0, &r, &rel)
		if err != nil {
			b.Fatal(err)
		}
		return prompt.Sub(start)
	}
	// the first login of a candidate on an idle gateway: the password's
	// bcrypt, the lab resolved, the gateway's own login on the machine
	cold := login("c01")
	b.ResetTimer()
	for range b.N {
		var (
			mu             sync.Mutex
			viaGW, direct  []time.Duration
			firstPrompt    []time.Duration
			directPrompt   []time.Duration
			wg             sync.WaitGroup
			errs           = make(chan error, candidates*perCandidate*2)
			ready, release sync.WaitGroup
		)
		ready.Add(candidates * perCandidate * 2)
		release.Add(1)
		for c := 1; c <= candidates; c++ {
			id := fmt.Sprintf("c%02d", c)
			secrets, err := l.st.Secrets("s1", labDef, id)
			if err != nil {
				b.Fatal(err)
			}
			signer, err := ssh.ParsePrivateKey([]byte(secrets["ssh-key"].Reveal()))
			if err != nil {
				b.Fatal(err)
			}
			for k := 0; k < perCandidate; k++ {
				for _, gw := range []bool{true, false} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						cfg := &ssh.ClientConfig{User: id + "+srv", Auth: []ssh.AuthMethod{ssh.Password(l.passwords[id])},
							HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
						addr := l.sshAddr
						if !gw {
							cfg.User, cfg.Auth, addr = "root", []ssh.AuthMethod{ssh.PublicKeys(signer)}, mgmt[id]+":22"
						}
						start := time.Now()
						rtts, prompt, err := keystrokes(addr, cfg, strokes, &ready, &release)
						if err != nil {
							errs <- fmt.Errorf("%s (gateway %v): %w", id, gw, err)
							return
						}
						mu.Lock()
						defer mu.Unlock()
						if gw {
							viaGW = append(viaGW, rtts...)
							firstPrompt = append(firstPrompt, prompt.Sub(start))
						} else {
							direct = append(direct, rtts...)
							directPrompt = append(directPrompt, prompt.Sub(start))
						}
					}()
				}
			}
		}
		go func() { ready.Wait(); release.Done() }()
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		p := func(d []time.Duration, q float64) float64 {
			slices.Sort(d)
			return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(p(viaGW, 0.5), "gw-p50-ms")
		b.ReportMetric(p(viaGW, 0.99), "gw-p99-ms")
		b.ReportMetric(p(direct, 0.5), "direct-p50-ms")
		b.ReportMetric(p(direct, 0.99), "direct-p99-ms")
		b.ReportMetric(p(firstPrompt, 0.5), "login-prompt-p50-ms")
		b.ReportMetric(p(firstPrompt, 0.99), "login-prompt-max-ms")
		b.ReportMetric(float64(peakRSS())/1024, "peak-RSS-MiB")
		// one login at a time, on an idle gateway: what a candidate waits for
		// when opening another terminal (password remembered, the machine's
		// connection pooled)
		var alone []time.Duration
		for k := 0; k < 5; k++ {
			alone = append(alone, login("c01"))
		}
		b.ReportMetric(p(alone, 0.5), "login-prompt-alone-p50-ms")
		b.ReportMetric(float64(cold.Microseconds())/1000, "login-prompt-cold-ms")
		b.ReportMetric(p(directPrompt, 0.5), "direct-login-prompt-p50-ms")
		// what one bcrypt of a first login costs on this host now
		h, _ := bcrypt.GenerateFromPassword([]byte("x"), bcryptCost)
		t0 := time.Now()
		_ = bcrypt.CompareHashAndPassword(h, []byte("x"))
		bc := float64(time.Since(t0).Microseconds()) / 1000
		b.ReportMetric(bc, "bcrypt-ms")
		b.Logf("%d candidates x %d terminals: keystroke round trip p50 %.1f ms through the gateway vs %.1f direct, p99 %.1f vs %.1f (overhead %.1f ms); "+
			"login to first prompt: first login %.0f ms (one bcrypt: %.0f ms), next ones %.0f ms (p50 alone), %.0f ms p50 when all log in at once (direct: %.0f ms); "+
			"peak RSS %.0f MiB (gateway, sshds' clients and all)",
			candidates, perCandidate, p(viaGW, 0.5), p(direct, 0.5), p(viaGW, 0.99), p(direct, 0.99), p(viaGW, 0.99)-p(direct, 0.99),
			float64(cold.Microseconds())/1000, bc, p(alone, 0.5), p(firstPrompt, 0.5), p(directPrompt, 0.5), float64(peakRSS())/1024)
	}
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
