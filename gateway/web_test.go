package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// startWeb serves the lab's browser side on 127.0.0.1 and returns its base
// URL and a client that trusts only the certificate ServeWeb reported.
func (l *lab) startWeb(t *testing.T) (string, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	sum, err := l.gw.ServeWeb(ctx, ln, "127.0.0.1", errs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errs; err != nil {
			t.Errorf("ServeWeb: %v", err)
		}
	})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, // pinned below instead
			VerifyConnection: func(cs tls.ConnectionState) error {
				if got := CertFingerprint(cs.PeerCertificates[0].Raw); got != sum {
					t.Errorf("certificate %s, ServeWeb said %s", got, sum)
				}
				return nil
			}}}}
	return "https://" + ln.Addr().String(), client
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postLogin(t *testing.T, c *http.Client, base, login, password string) (int, string) {
	t.Helper()
	resp, err := c.PostForm(base+"/connexion", url.Values{"identifiant": {login}, "motdepasse": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWeb drives the browser side over HTTPS: login refusals in French, the
// candidate's page, topology and countdown data, a terminal over the
// WebSocket, and hostile requests.
func TestWeb(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	base, c := l.startWeb(t)

	if code, body := get(t, c, base+"/"); code != 200 || !strings.Contains(body, "Passerelle d'examen") {
		t.Fatalf("login page: %d %s", code, body)
	}
	if code, body := postLogin(t, c, base, "c01", l.passwords["c01"]); code != 403 || !strings.Contains(body, "pas encore ouvert") {
		t.Errorf("login before the opening: %d %s", code, body)
	}
	l.open(t)
	if code, body := postLogin(t, c, base, "c01", "mauvais"); code != 403 || !strings.Contains(body, "Identifiant ou mot de passe incorrect") {
		t.Errorf("wrong password: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/topologie.svg"); code != 401 {
		t.Errorf("topology without login: %d", code)
	}
	if code, _ := postLogin(t, c, base, "c01", l.passwords["c01"]); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if code, body := get(t, c, base+"/"); code != 200 || !strings.Contains(body, `data-machine="srv"`) || strings.Contains(body, "c02") {
		t.Errorf("candidate page: %d %s", code, body)
	}
	if code, body := get(t, c, base+"/topologie.svg"); code != 200 || !strings.Contains(body, "<svg") || !strings.Contains(body, "10.40.1.10") || !strings.Contains(body, ">srv<") {
		t.Errorf("topology: %d %s", code, body)
	}
	var st struct{ Maintenant string }
	if code, body := get(t, c, base+"/etat"); code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Maintenant == "" {
		t.Errorf("status: %d %s", code, body)
	}
	for _, p := range []string{"/static/../state.db", "/static/..%2f..%2fstate.db", "/static/%2e%2e/gateway.go", "/static//etc/passwd", "/..%2f..%2fetc/passwd", "/enonce/../../state.db"} {
		code, body := get(t, c, base+p)
		if code == 200 && (strings.Contains(body, "root:") || strings.Contains(body, "bolt") || strings.Contains(body, "package gateway")) {
			t.Errorf("%s served a file outside the assets: %d", p, code)
		}
	}
	if code, body := get(t, c, base+"/static/vendor/xterm/LICENSE"); code != 200 || !strings.Contains(body, "MIT") {
		t.Errorf("xterm licence: %d", code)
	}

	u, _ := url.Parse(base)
	cookie := c.Jar.Cookies(u)
	ws := dialTerminal(t, base, "srv", cookie, base)
	out := readUntil(t, ws, "# ", 10*time.Second) // the shell's prompt
	_ = out
	send(t, ws, termMessage{Input: "hostname\n"})
	if out := readUntil(t, ws, "\rsrv-c01\r\n", 10*time.Second); !strings.Contains(out, "\rsrv-c01\r\n") {
		t.Errorf("terminal output: %q", out)
	}
	// a 10 MB paste arrives whole (pieces of 64 KiB, as the page sends it)
	send(t, ws, termMessage{Input: "stty raw -echo; head -c 10485760 | wc -c\n"})
	time.Sleep(300 * time.Millisecond)
	piece := strings.Repeat("x", 64<<10)
	for i := 0; i < 160; i++ {
		send(t, ws, termMessage{Input: piece})
	}
	if out := readUntil(t, ws, "10485760", 60*time.Second); !strings.Contains(out, "10485760") {
		t.Errorf("paste: %q", trim(out, 300))
	}
	ws.Close()

	// another site's page cannot open a terminal with the candidate's cookie
	if _, err := dialTerminalErr(base, "srv", cookie, "https://evil.example"); err == nil {
		t.Error("a terminal opened from another origin")
	}
	// another candidate's machine is not reachable by name tricks
	ws = dialTerminal(t, base, "../c02/srv", cookie, base)
	if out := readUntil(t, ws, "avis", 5*time.Second); !strings.Contains(out, "pas de machine") {
		t.Errorf("machine name trick: %q", out)
	}
	ws.Close()
	// malformed frames: the socket closes, the gateway goes on
	raw := rawTerminal(t, base, cookie)
	raw.Write([]byte{0x8f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	raw.Close()
	if code, _ := get(t, c, base+"/etat"); code != 200 {
		t.Errorf("after malformed frames: %d", code)
	}
	log := l.auditLog(t)
	for _, want := range [][]string{{"login c01", "web from 127.0.0.1: accepted"}, {"terminal c01 srv", "shell (web from"}, {"terminal c01", "refused"}} {
		if !hasLine(log, want...) {
			t.Errorf("audit log has no line with %q:\n%s", want, strings.Join(log, "\n"))
		}
	}
}

func wsConfig(base, machine string, cookies []*http.Cookie, origin string) *websocket.Config {
	cfg, _ := websocket.NewConfig(strings.Replace(base, "https", "wss", 1)+"/terminal?machine="+url.QueryEscape(machine), origin)
	cfg.TlsConfig = &tls.Config{InsecureSkipVerify: true}
	cfg.Header = http.Header{}
	for _, ck := range cookies {
		cfg.Header.Add("Cookie", ck.Name+"="+ck.Value)
	}
	return cfg
}

func dialTerminalErr(base, machine string, cookies []*http.Cookie, origin string) (*websocket.Conn, error) {
	return websocket.DialConfig(wsConfig(base, machine, cookies, origin))
}

func dialTerminal(t *testing.T, base, machine string, cookies []*http.Cookie, origin string) *websocket.Conn {
	t.Helper()
	ws, err := dialTerminalErr(base, machine, cookies, origin)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ws, termMessage{Cols: 100, Rows: 30})
	return ws
}

// rawTerminal opens a terminal WebSocket and returns its TLS connection
// right after the handshake, to write anything at all.
func rawTerminal(t *testing.T, base string, cookies []*http.Cookie) net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := wsConfig(base, "srv", cookies, base)
	if _, err := websocket.NewClient(cfg, conn); err != nil {
		t.Fatal(err)
	}
	return conn
}

func send(t *testing.T, ws *websocket.Conn, m termMessage) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := websocket.Message.Send(ws, string(b)); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads the terminal until its output holds want or the time passes.
func readUntil(t *testing.T, ws *websocket.Conn, want string, d time.Duration) string {
	t.Helper()
	var out strings.Builder
	_ = ws.SetReadDeadline(time.Now().Add(d))
	defer ws.SetReadDeadline(time.Time{})
	for !strings.Contains(out.String(), want) {
		var b []byte
		if err := websocket.Message.Receive(ws, &b); err != nil {
			break
		}
		out.Write(b)
	}
	return out.String()
}
