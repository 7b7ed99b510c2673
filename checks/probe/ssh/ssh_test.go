package ssh_test

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"

	xssh "golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

const password = "S3cret-Pa55"

func target(srv *sshd.Server, creds probe.Credentials) probe.Target {
	m := &secret.Masker{}
	m.Add(creds.Password.Reveal(), creds.PrivateKey.Reveal())
	return probe.Target{Machine: "srv1", Address: srv.Host, Ports: map[string]int{"ssh": srv.Port},
		Credentials: map[string]probe.Credentials{"ssh": creds}, Masker: m}
}

func req(id, cmd string) probe.Request {
	return probe.Request{ID: id, Params: &ssh.Params{Command: cmd}}
}

type obsCheck struct {
	id       string
	errSub   string // non-empty: want Err containing it
	stdout   string
	exitCode int
}

func checkObs(t *testing.T, obs []probe.Observation, want []obsCheck) {
	t.Helper()
	if len(obs) != len(want) {
		t.Fatalf("got %d observations, want %d", len(obs), len(want))
	}
	for i, w := range want {
		o := obs[i]
		if o.ID != w.id {
			t.Errorf("obs[%d].ID = %q, want %q", i, o.ID, w.id)
		}
		if w.errSub != "" {
			if o.Err == nil || !strings.Contains(o.Err.Error(), w.errSub) {
				t.Errorf("%s: Err = %v, want one containing %q", w.id, o.Err, w.errSub)
			}
			continue
		}
		if o.Err != nil {
			t.Errorf("%s: unexpected Err %v\n%s", w.id, o.Err, o.Evidence)
			continue
		}
		if o.Values["stdout"] != w.stdout || o.Values["exit_code"] != w.exitCode {
			t.Errorf("%s: stdout %q exit %v, want %q %d\n%s", w.id, o.Values["stdout"], o.Values["exit_code"], w.stdout, w.exitCode, o.Evidence)
		}
	}
}

func TestSSH(t *testing.T) {
	_, keyPEM, pub := sshd.NewClientKey(t)
	_, otherPEM, _ := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.2", Password: password, AuthorizedKeys: []xssh.PublicKey{pub}})
	keyCreds := probe.Credentials{User: "root", PrivateKey: secret.New(keyPEM)}
	pwCreds := probe.Credentials{User: "root", Password: secret.New(password)}

	tests := []struct {
		name   string
		target probe.Target
		policy ssh.HostKeyPolicy
		reqs   []probe.Request
		ctxTO  time.Duration
		runErr bool
		want   []obsCheck
	}{
		{
			name:   "pass and fail with key auth",
			target: target(srv, keyCreds),
			reqs: []probe.Request{
				req("hostname", "echo ok"),
				req("false", "echo nope >&2; exit 4"),
				{ID: "stdin", Params: &ssh.Params{Command: "tr a-z A-Z", Stdin: ptr("bonjour\n")}},
			},
			want: []obsCheck{{id: "hostname", stdout: "ok"}, {id: "false", exitCode: 4}, {id: "stdin", stdout: "BONJOUR"}},
		},
		{
			name:   "password auth",
			target: target(srv, pwCreds),
			reqs:   []probe.Request{req("whoami", "id -un")},
			want:   []obsCheck{{id: "whoami", stdout: "root"}},
		},
		{
			name:   "wrong password is an error",
			target: target(srv, probe.Credentials{User: "root", Password: secret.New("wrong-password")}),
			reqs:   []probe.Request{req("a", "true"), req("b", "true")},
			runErr: true,
			want:   []obsCheck{{id: "a", errSub: "unable to authenticate"}, {id: "b", errSub: "unable to authenticate"}},
		},
		{
			name:   "unknown key is an error",
			target: target(srv, probe.Credentials{User: "root", PrivateKey: secret.New(otherPEM)}),
			reqs:   []probe.Request{req("a", "true")},
			runErr: true,
			want:   []obsCheck{{id: "a", errSub: "unable to authenticate"}},
		},
		{
			name: "service down is an error",
			target: func() probe.Target {
				tg := target(srv, keyCreds)
				tg.Ports = map[string]int{"ssh": testenv.FreePort(t, srv.Host)}
				return tg
			}(),
			reqs:   []probe.Request{req("a", "true")},
			runErr: true,
			want:   []obsCheck{{id: "a", errSub: "connection refused"}},
		},
		{
			name:   "command timeout is an error for that check only",
			target: target(srv, keyCreds),
			reqs: []probe.Request{
				{ID: "slow", Params: &ssh.Params{Command: "sleep 300", Timeout: time.Second}},
				req("after", "echo still here"),
			},
			want: []obsCheck{{id: "slow", errSub: "timed out"}, {id: "after", stdout: "still here"}},
		},
		{
			name:   "runner timeout applies too",
			target: target(srv, keyCreds),
			reqs:   []probe.Request{{ID: "slow", Params: &ssh.Params{Command: "sleep 300"}, Timeout: time.Second}},
			want:   []obsCheck{{id: "slow", errSub: "timed out"}},
		},
		{
			name:   "context deadline is an error",
			target: target(srv, keyCreds),
			reqs:   []probe.Request{req("fast", "echo 1"), req("slow", "sleep 300"), req("beside", "echo 3")},
			ctxTO:  4 * time.Second,
			// "beside" runs at the same time as "slow": it completes.
			want: []obsCheck{{id: "fast", stdout: "1"}, {id: "slow", errSub: "did not complete"}, {id: "beside", stdout: "3"}},
		},
		{
			name:   "pinned host key",
			target: target(srv, keyCreds),
			policy: ssh.HostKeyPolicy{Pins: map[string]string{"srv1": srv.Fingerprint}, RequireKnown: true},
			reqs:   []probe.Request{req("a", "echo pinned")},
			want:   []obsCheck{{id: "a", stdout: "pinned"}},
		},
		{
			name:   "wrong pinned host key is an error",
			target: target(srv, keyCreds),
			policy: ssh.HostKeyPolicy{Pins: map[string]string{srv.Host: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
			reqs:   []probe.Request{req("a", "true")},
			runErr: true,
			want:   []obsCheck{{id: "a", errSub: "does not match"}},
		},
		{
			name:   "host key pinned at up",
			target: func() probe.Target { tg := target(srv, keyCreds); tg.SSHHostKey = srv.Fingerprint; return tg }(),
			policy: ssh.HostKeyPolicy{RequireKnown: true},
			reqs:   []probe.Request{req("a", "echo pinned at up")},
			want:   []obsCheck{{id: "a", stdout: "pinned at up"}},
		},
		{
			name: "another host key than the one pinned at up is an error naming both",
			target: func() probe.Target {
				tg := target(srv, keyCreds)
				tg.SSHHostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				return tg
			}(),
			policy: ssh.HostKeyPolicy{Pins: map[string]string{"srv1": srv.Fingerprint}}, // the target's own pin comes first
			reqs:   []probe.Request{req("a", "true")},
			runErr: true,
			want: []obsCheck{{id: "a", errSub: "SSH host key mismatch: expected SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA (pinned at `tailab up`), presented " +
				srv.Fingerprint}},
		},
		{
			name:   "unknown host refused when required",
			target: target(srv, keyCreds),
			policy: ssh.HostKeyPolicy{RequireKnown: true},
			reqs:   []probe.Request{req("a", "true")},
			runErr: true,
			want:   []obsCheck{{id: "a", errSub: "neither pinned"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.ctxTO > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTO)
				defer cancel()
			}
			p := &ssh.Probe{HostKeys: tc.policy}
			start := time.Now()
			obs, err := p.Run(ctx, tc.target, tc.reqs)
			if (err != nil) != tc.runErr {
				t.Errorf("Run error = %v, want error: %v", err, tc.runErr)
			}
			// The slow commands sleep 300 s: a Run that ends well before
			// stopped them. The bound is loose on purpose (a loaded 2-core
			// host took 33 s for one session of `true`); it is no timing.
			if d := time.Since(start); d > 150*time.Second {
				t.Errorf("Run took %s: a timed-out command was not stopped", d)
			}
			checkObs(t, obs, tc.want)
			for _, o := range obs {
				if strings.Contains(o.Evidence, password) || strings.Contains(o.Evidence, "PRIVATE KEY") {
					t.Errorf("%s: evidence leaks a secret:\n%s", o.ID, o.Evidence)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestOneConnectionPerRun counts TCP connections through a proxy and SSH sessions in
// sshd's log: a batch of many checks costs one of each.
func TestOneConnectionPerRun(t *testing.T) {
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.3", AuthorizedKeys: []xssh.PublicKey{pub}})
	proxy, conns := testenv.CountingProxy(t, srv.Addr())
	host, port, _ := net.SplitHostPort(proxy)
	tg := target(srv, probe.Credentials{User: "root", PrivateKey: secret.New(keyPEM)})
	tg.Address = host
	tg.Ports = map[string]int{"ssh": atoi(port)}

	const n = 25
	reqs := make([]probe.Request, n)
	for i := range reqs {
		reqs[i] = req("c"+strconv.Itoa(i), "echo "+strconv.Itoa(i*i))
	}
	before := strings.Count(srv.Log(), "Starting session")
	obs, err := (&ssh.Probe{}).Run(context.Background(), tg, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range obs {
		if o.Err != nil || o.Values["stdout"] != strconv.Itoa(i*i) {
			t.Fatalf("check %d: %v %v", i, o.Err, o.Values)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("%d TCP connections for one Run, want 1", got)
	}
	// sshd logs the session start asynchronously; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(srv.Log(), "Starting session")-before < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := strings.Count(srv.Log(), "Starting session") - before; got != 1 {
		t.Errorf("%d SSH sessions for one Run, want 1\n%s", got, srv.Log())
	}
	if !strings.Contains(obs[0].Evidence, srv.Fingerprint) {
		t.Errorf("evidence lacks the host key fingerprint %s:\n%s", srv.Fingerprint, obs[0].Evidence)
	}
}

func TestEvidenceMasksSecrets(t *testing.T) {
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.4", Password: password, AuthorizedKeys: []xssh.PublicKey{pub}})
	tg := target(srv, probe.Credentials{User: "root", Password: secret.New(password), PrivateKey: secret.New(keyPEM)})
	obs, err := (&ssh.Probe{}).Run(context.Background(), tg, []probe.Request{req("leak", "echo "+password)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(obs[0].Evidence, password) || !strings.Contains(obs[0].Evidence, secret.Mask) {
		t.Errorf("evidence not masked:\n%s", obs[0].Evidence)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// TestConcurrentVerdictsEqualSequential runs one batch against a real sshd with
// the checks one after the other (Parallel 1) and 8 at once: every check
// observes the same values and the same errors, an exclusive check included,
// and the concurrent batch takes about its slowest check, not the sum.
func TestConcurrentVerdictsEqualSequential(t *testing.T) {
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.2", AuthorizedKeys: []xssh.PublicKey{pub}})
	tg := target(srv, probe.Credentials{User: "root", PrivateKey: secret.New(keyPEM)})
	dir := t.TempDir()
	reqs := []probe.Request{
		req("ok", "echo ok"),
		req("exit", "echo nope >&2; exit 4"),
		{ID: "stdin", Params: &ssh.Params{Command: "tr a-z A-Z", Stdin: ptr("bonjour\n")}},
		{ID: "slow-1", Params: &ssh.Params{Command: "sleep 1; echo a"}},
		{ID: "slow-2", Params: &ssh.Params{Command: "sleep 1; echo b"}},
		{ID: "timeout", Params: &ssh.Params{Command: "sleep 20", Timeout: time.Second}},
		{ID: "restart", Params: &ssh.Params{Command: "ls " + dir + " | wc -l"}, Exclusive: true},
		req("lines", "printf 'x\\ny\\n'"),
		req("signal", "kill -9 $$"),
	}
	// While running, the checks that end by themselves leave a file in dir:
	// the exclusive one counts them (0 when it runs alone).
	for i, r := range reqs {
		if !r.Exclusive && r.ID != "timeout" && r.ID != "signal" {
			p := *r.Params.(*ssh.Params)
			p.Command = "touch " + dir + "/" + r.ID + "; (" + p.Command + "); rc=$?; rm -f " + dir + "/" + r.ID + "; exit $rc"
			reqs[i].Params = &p
		}
	}
	run := func(parallel int) ([]probe.Observation, time.Duration) {
		t0 := time.Now()
		obs, err := (&ssh.Probe{Parallel: parallel}).Run(context.Background(), tg, reqs)
		if err != nil {
			t.Fatalf("parallel %d: %v", parallel, err)
		}
		return obs, time.Since(t0)
	}
	seq, seqTook := run(1)
	conc, concTook := run(0)
	for i := range reqs {
		s, c := seq[i], conc[i]
		if fmt.Sprint(s.Err) != fmt.Sprint(c.Err) || !reflect.DeepEqual(s.Values, c.Values) {
			t.Errorf("%s: sequential %v %v, concurrent %v %v", reqs[i].ID, s.Values, s.Err, c.Values, c.Err)
		}
	}
	if got := conc[6].Values["stdout"]; got != "0" {
		t.Errorf("the exclusive check saw %v others running", got)
	}
	if conc[5].Err == nil || conc[0].Values["stdout"] != "ok" || conc[8].Values["exit_code"] != 137 {
		t.Errorf("unexpected observations: timeout %v, ok %v, signal %v", conc[5].Err, conc[0].Values, conc[8].Values)
	}
	t.Logf("sequential %s, concurrent %s", seqTook.Round(time.Millisecond), concTook.Round(time.Millisecond))
	// The sequential batch sleeps 3 s (slow-1, slow-2, timeout); the
	// concurrent one about 1 s.
	if concTook >= seqTook {
		t.Errorf("concurrent batch %s, sequential %s: want it shorter", concTook, seqTook)
	}
}
