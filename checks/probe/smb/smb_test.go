package smb_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/smb"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sambadc"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

var passwords = map[string]string{"alice": "Alice-Passw0rd!", "bob": "Bob-Passw0rd!", "carol": "Carol-Passw0rd!"}

func setup(t *testing.T) (*sambadc.DC, probe.Target) {
	t.Helper()
	dc := sambadc.Start(t, sambadc.Options{Shares: []sambadc.Share{{
		Name:      "Compta",
		Files:     map[string]string{"lisezmoi.txt": "Bienvenue au service comptable", "Factures/2026.txt": "F-001"},
		Dirs:      []string{"Archives"},
		ReadUsers: []string{"bob"}, WriteUsers: []string{"alice"},
	}}})
	m := &secret.Masker{}
	creds := map[string]probe.Credentials{}
	for u, pw := range passwords {
		dc.CreateUser(t, sambadc.User{Name: u, Password: pw})
		m.Add(pw)
		creds[u] = probe.Credentials{User: u, Domain: dc.Domain, Password: secret.New(pw)}
	}
	creds["smb"] = creds["alice"]
	creds["upn"] = probe.Credentials{User: "bob@" + dc.Realm, Password: secret.New(passwords["bob"])}
	creds["wrong"] = probe.Credentials{User: `LAB\alice`, Password: secret.New("Not-The-Passw0rd")}
	m.Add("Not-The-Passw0rd")
	return dc, probe.Target{Machine: "dc1", Address: dc.IP, Credentials: creds, Masker: m}
}

func run(t *testing.T, p *smb.SMB, tg probe.Target, params ...*smb.Params) ([]probe.Observation, error) {
	t.Helper()
	reqs := make([]probe.Request, len(params))
	for i, pp := range params {
		reqs[i] = probe.Request{ID: "c" + strconv.Itoa(i), Params: pp, Timeout: 10 * time.Second}
	}
	obs, err := p.Run(context.Background(), tg, reqs)
	if len(obs) != len(reqs) {
		t.Fatalf("%d observations for %d requests", len(obs), len(reqs))
	}
	for _, o := range obs {
		for _, pw := range append([]string{"Not-The-Passw0rd"}, values(passwords)...) {
			if strings.Contains(o.Evidence, pw) || (o.Err != nil && strings.Contains(o.Err.Error(), pw)) {
				t.Fatalf("%s shows a password: %s %v", o.ID, o.Evidence, o.Err)
			}
		}
	}
	return obs, err
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

var all = []string{"list", "read", "write"}

func TestSMBAgainstSambaDC(t *testing.T) {
	dc, tg := setup(t)
	p := smb.New()

	t.Run("pass and fail", func(t *testing.T) {
		obs, err := run(t, p, tg,
			&smb.Params{Share: "Compta", File: "lisezmoi.txt", Actions: all},                // alice (default "smb")
			&smb.Params{Share: "Compta", User: "bob", File: "lisezmoi.txt", Actions: all},   // read only
			&smb.Params{Share: "Compta", User: "carol", File: "lisezmoi.txt", Actions: all}, // no access
			&smb.Params{Share: "Compta", User: "upn", Path: "Factures", File: "2026.txt", Actions: []string{"list", "read"}},
			&smb.Params{Share: "Absent", User: "alice", Actions: all, File: "x"},
			&smb.Params{Share: "Compta", Path: "Nope", Actions: []string{"list"}},
			&smb.Params{Share: "compta", Path: `Factures\`, Actions: []string{"write"}},
		)
		if err != nil {
			t.Fatal(err)
		}
		want := []map[string]any{
			{"share_exists": true, "path_exists": true, "can_list": true, "can_read": true, "can_write": true,
				"entries": []any{"Archives/", "Factures/", "lisezmoi.txt"}, "content": "Bienvenue au service comptable"},
			{"share_exists": true, "path_exists": true, "can_list": true, "can_read": true, "can_write": false},
			{"share_exists": true, "path_exists": false, "can_list": false, "can_read": false, "can_write": false},
			{"share_exists": true, "path_exists": true, "can_list": true, "can_read": true, "entries": []any{"2026.txt"}, "content": "F-001"},
			{"share_exists": false, "can_list": false, "can_read": false, "can_write": false},
			{"share_exists": true, "path_exists": false, "can_list": false},
			{"share_exists": true, "path_exists": true, "can_write": true},
		}
		for i, w := range want {
			if obs[i].Err != nil {
				t.Errorf("%s: %v\n%s", obs[i].ID, obs[i].Err, obs[i].Evidence)
				continue
			}
			for k, x := range w {
				if got := obs[i].Values[k]; !reflect.DeepEqual(got, x) {
					t.Errorf("%s: %s = %#v, want %#v\n%s", obs[i].ID, k, got, x, obs[i].Evidence)
				}
			}
		}
		// The write probes cleaned up after themselves.
		left, _ := filepath.Glob(filepath.Join(dc.SharePath("Compta"), "*", ".tailab-probe-*"))
		top, _ := filepath.Glob(filepath.Join(dc.SharePath("Compta"), ".tailab-probe-*"))
		if len(left)+len(top) > 0 {
			t.Errorf("temporary files left: %v %v", left, top)
		}
		if _, err := os.Stat(filepath.Join(dc.SharePath("Compta"), "lisezmoi.txt")); err != nil {
			t.Error(err)
		}
		t.Logf("evidence:\n%s\n%s", obs[0].Evidence, obs[2].Evidence)
	})

	t.Run("one session per user per run", func(t *testing.T) {
		proxy, count := testenv.CountingProxy(t, dc.SMBAddr())
		host, port, _ := net.SplitHostPort(proxy)
		ptg := tg
		ptg.Address = host
		n, _ := strconv.Atoi(port)
		ptg.Ports = map[string]int{"smb": n}
		obs, err := run(t, p, ptg,
			&smb.Params{Share: "Compta", User: "alice", Actions: []string{"list"}},
			&smb.Params{Share: "Compta", User: "bob", Actions: []string{"write"}},
			&smb.Params{Share: "Compta", User: "alice", Actions: []string{"write"}},
			&smb.Params{Share: "Absent", User: "alice"},
			&smb.Params{Share: "Compta", User: "bob", Path: "Factures"},
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
		if c := count.Load(); c != 2 {
			t.Errorf("%d connections for 2 users, want 2", c)
		}
	})

	t.Run("error", func(t *testing.T) {
		bh := testenv.SilentListener(t)
		bhHost, bhPort, _ := net.SplitHostPort(bh)
		bhTarget := tg
		bhTarget.Address = bhHost
		n, _ := strconv.Atoi(bhPort)
		cases := []struct {
			name   string
			target probe.Target
			params *smb.Params
			want   string
		}{
			{"wrong password", tg, &smb.Params{Share: "Compta", User: "wrong"}, "wrong user or password"},
			{"service down", tg, &smb.Params{Share: "Compta", Port: 1}, "connection refused"},
			{"timeout", bhTarget, &smb.Params{Share: "Compta", Port: n}, "deadline"},
			{"unknown credentials", tg, &smb.Params{Share: "Compta", User: "nobody"}, "no credentials named"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				reqs := []probe.Request{{ID: "a", Params: c.params, Timeout: time.Second}, {ID: "b", Params: c.params, Timeout: time.Second}}
				began := time.Now()
				obs, err := p.Run(context.Background(), c.target, reqs)
				if d := time.Since(began); d > 5*time.Second {
					t.Errorf("took %s", d)
				}
				if err == nil {
					t.Error("Run returned no error for a batch that observed nothing")
				}
				for _, o := range obs {
					if o.Err == nil || !strings.Contains(o.Err.Error(), c.want) {
						t.Errorf("%s: err %v, want %q", o.ID, o.Err, c.want)
					}
					if strings.Contains(o.Evidence, "Not-The-Passw0rd") || (o.Err != nil && strings.Contains(o.Err.Error(), "Not-The-Passw0rd")) {
						t.Errorf("password leaked")
					}
				}
			})
		}
	})
}
