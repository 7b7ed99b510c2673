package http_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/http"
	"github.com/tailab/tailab/checks/probe/probetest"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/yamlx"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func handler() nethttp.Handler {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("X-Served-By", "lab-web")
		fmt.Fprintf(w, "hello %s %s", r.Host, r.Method)
	})
	mux.HandleFunc("/old", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/new", nethttp.StatusMovedPermanently)
	})
	mux.HandleFunc("/new", func(w nethttp.ResponseWriter, r *nethttp.Request) { fmt.Fprint(w, "moved here") })
	mux.HandleFunc("/missing", func(w nethttp.ResponseWriter, r *nethttp.Request) { nethttp.NotFound(w, r) })
	mux.HandleFunc("/slow", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/private", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		u, pw, ok := r.BasicAuth()
		if !ok || u != "admin" || pw != "Adm1n-Secret" {
			w.WriteHeader(nethttp.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "welcome "+pw)
	})
	return mux
}

func start(t *testing.T, host string, tlsOn bool) (*httptest.Server, int) {
	t.Helper()
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(handler())
	s.Listener = l
	if tlsOn {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s, l.Addr().(*net.TCPAddr).Port
}

func TestHTTP(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	const host = "127.0.0.6"
	_, port := start(t, host, false)
	tlsSrv, tlsPort := start(t, host, true)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	down := testenv.FreePort(t, host)
	m := &secret.Masker{}
	m.Add("Adm1n-Secret")
	tg := probe.Target{Machine: "web", Address: host, Ports: map[string]int{"http": port},
		Credentials: map[string]probe.Credentials{"http": {User: "admin", Password: secret.New("Adm1n-Secret")}}, Masker: m}

	tests := []struct {
		name   string
		p      http.Params
		to     time.Duration
		want   map[string]any
		tls    map[string]any
		errSub string
	}{
		{name: "get", p: http.Params{}, want: map[string]any{"status": 200, "body": "hello 127.0.0.6:" + fmt.Sprint(port) + " GET"}},
		{name: "vhost and header", p: http.Params{VHost: "intranet.lab.local", Headers: map[string]string{"Accept": "text/plain"}},
			want: map[string]any{"status": 200, "body": "hello intranet.lab.local:" + fmt.Sprint(port) + " GET"}},
		{name: "method", p: http.Params{Method: "post", Body: "x=1"}, want: map[string]any{"status": 200, "body": "hello 127.0.0.6:" + fmt.Sprint(port) + " POST"}},
		{name: "404 is an observation", p: http.Params{Path: "/missing"}, want: map[string]any{"status": 404}},
		{name: "redirect not followed", p: http.Params{Path: "/old"}, want: map[string]any{"status": 301}},
		{name: "redirect followed", p: http.Params{Path: "/old", FollowRedirects: true}, want: map[string]any{"status": 200, "body": "moved here"}},
		{name: "basic auth", p: http.Params{Path: "/private", Auth: "basic"}, want: map[string]any{"status": 200}},
		{name: "no auth", p: http.Params{Path: "/private"}, want: map[string]any{"status": 401}},
		{name: "https self-signed", p: http.Params{Scheme: "https", Port: tlsPort},
			want: map[string]any{"status": 200}, tls: map[string]any{"verified": false, "version": "TLS 1.3"}},
		{name: "https verified with ca_file", p: http.Params{Scheme: "https", Port: tlsPort, CAFile: caFile, TLSVerify: true},
			want: map[string]any{"status": 200}, tls: map[string]any{"verified": true}},
		{name: "https refused by tls_verify", p: http.Params{Scheme: "https", Port: tlsPort, TLSVerify: true},
			want: map[string]any{"status": 0}, tls: map[string]any{"verified": false}},
		{name: "https wrong name", p: http.Params{Scheme: "https", Port: tlsPort, VHost: "wrong.lab.local", CAFile: caFile},
			want: map[string]any{"status": 200}, tls: map[string]any{"verified": false}},
		{name: "service down", p: http.Params{Port: down}, errSub: "connection refused"},
		{name: "timeout", p: http.Params{Path: "/slow", Timeout: 300 * time.Millisecond}, errSub: "no response within"},
		{name: "runner timeout", p: http.Params{Path: "/slow"}, to: 300 * time.Millisecond, errSub: "no response within"},
	}
	reqs := make([]probe.Request, len(tests))
	for i := range tests {
		reqs[i] = probe.Request{ID: tests[i].name, Params: &tests[i].p, Timeout: tests[i].to}
	}
	obs, err := http.New().Run(context.Background(), tg, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obs[i]
			if probetest.Err(t, o, tc.errSub) {
				return
			}
			for k, v := range tc.want {
				if o.Values[k] != v {
					t.Errorf("%s = %#v, want %#v\n%s", k, o.Values[k], v, o.Evidence)
				}
			}
			for k, v := range tc.tls {
				tv, _ := o.Values["tls"].(map[string]any)
				if tv[k] != v {
					t.Errorf("tls.%s = %#v, want %#v\n%s", k, tv[k], v, o.Evidence)
				}
			}
			if strings.Contains(o.Evidence, "Adm1n-Secret") {
				t.Errorf("evidence leaks the password:\n%s", o.Evidence)
			}
		})
	}
	if h := obs[0].Values["headers"].(map[string]string); h["x-served-by"] != "lab-web" {
		t.Errorf("headers %v", h)
	}
}

func TestContextDeadline(t *testing.T) {
	_, port := start(t, "127.0.0.7", false)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	obs, _ := http.New().Run(ctx, probe.Target{Address: "127.0.0.7"}, []probe.Request{{ID: "a", Params: &http.Params{Port: port, Path: "/slow"}}})
	if obs[0].Err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("Err %v after %s", obs[0].Err, time.Since(start))
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"path: /x\nscheme: https", ""},
		{"scheme: ftp", "f.scheme: scheme must be http or https"},
		{"path: x", "path must start with /"},
		{"auth: ntlm", "auth must be basic"},
		{"port: 99999", "out of range"},
	} {
		n, _ := yamlx.Parse("s.yaml", []byte(tc.yaml))
		d := yamlx.NewDecoder("s.yaml")
		p := http.New().NewParams()
		d.Decode(n, p, "f")
		p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 1, Column: 1}, "f")
		got := d.Diags.Error()
		if (tc.want == "") != (len(d.Diags) == 0) || !strings.Contains(got, tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.yaml, got, tc.want)
		}
	}
}
