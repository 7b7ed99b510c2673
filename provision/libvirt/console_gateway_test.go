package libvirt_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// consoleLab is one VM whose candidate works through its console only.
const consoleLab = `name: console-lab
networks:
  - {name: lan, cidr: 10.32.0.0/24}
machines:
  - {name: ws, role: client, kind: vm, os: linux, image: tiny, memory: 128MiB, access: {via: console},
     nics: [{network: lan, address: 10.32.0.30}], ready: {ssh: false, tcp: 80, timeout: 3m}}
`

// TestGatewayConsole opens a real VM's console through the gateway, as the
// browser's console tab does: the gateway finds the console with the
// session's provider (the port libvirt gave the running domain), logs in
// with the candidate's console password from the session's secrets, and
// offers the browser security type None only; the desktop and a framebuffer
// update come through, and no byte the browser receives holds the password.
func TestGatewayConsole(t *testing.T) {
	needDaemon(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	eng := newEngine(t, dataDir, imageDir(t))
	lab, err := labs.Load("console-lab.yaml", []byte(consoleLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, plan := sessionPlan(t, eng, "gwc", lab, []byte(consoleLab), 1)
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) })
	t0 := time.Now()
	// the console answers once the domain runs: no need to wait for the guest
	if err := eng.Up(ctx, plan, provision.ApplyOptions{NoWait: true}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Logf("up of a TCG VM (not waiting for its guest): %s", time.Since(t0).Round(time.Millisecond))
	gs := eng.State.Store()
	pws, err := gateway.Passwords(gs, "gwc", []string{"c01"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.OpenWindow(gs, "gwc", time.Now()); err != nil {
		t.Fatal(err)
	}
	consolePW, err := eng.State.ConsolePassword("gwc", "c01")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{DataDir: dataDir, Session: "gwc",
		Consoles: &gateway.EngineConsoles{Session: sess, Open: func() (*provision.Engine, error) { return eng, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithCancel(ctx)
	errs := make(chan error, 1)
	if _, err := gw.ServeWeb(gctx, ln, "127.0.0.1", errs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-errs; gw.Close() })
	base := "https://" + ln.Addr().String()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.PostForm(base+"/connexion", url.Values{"identifiant": {"c01"}, "motdepasse": {pws["c01"].Reveal()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	cfg, _ := websocket.NewConfig(strings.Replace(base, "https", "wss", 1)+"/console?machine=ws", base)
	cfg.TlsConfig = &tls.Config{InsecureSkipVerify: true}
	cfg.Header = http.Header{}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		cfg.Header.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetDeadline(time.Now().Add(60 * time.Second))

	// the browser's side of RFB, everything it receives kept
	var got strings.Builder
	r := io.TeeReader(ws, &got)
	read := func(n int) []byte {
		t.Helper()
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		return b
	}
	if v := read(12); string(v) != "RFB 003.008\n" {
		t.Fatalf("version %q", v)
	}
	_, _ = ws.Write([]byte("RFB 003.008\n"))
	n := read(1)[0]
	if types := read(int(n)); n != 1 || types[0] != 1 {
		reason := ""
		if n == 0 {
			reason = string(read(int(binary.BigEndian.Uint32(read(4)))))
		}
		t.Fatalf("security types offered to the browser: %v %q, want [1] (None) only", types, reason)
	}
	_, _ = ws.Write([]byte{1})
	if res := read(4); binary.BigEndian.Uint32(res) != 0 {
		t.Fatalf("security result %v", res)
	}
	_, _ = ws.Write([]byte{1}) // ClientInit
	init := read(24)
	w, h := binary.BigEndian.Uint16(init[0:2]), binary.BigEndian.Uint16(init[2:4])
	name := string(read(int(binary.BigEndian.Uint32(init[20:24]))))
	_, _ = ws.Write([]byte{3, 0, 0, 0, 0, 0, init[0], init[1], init[2], init[3]}) // FramebufferUpdateRequest
	if typ := read(1)[0]; typ != 0 {
		t.Errorf("message type %d after a FramebufferUpdateRequest, want 0 (FramebufferUpdate)", typ)
	}
	t.Logf("console of c01/ws through the gateway: %dx%d, desktop %q", w, h, name)
	if w == 0 || h == 0 {
		t.Errorf("framebuffer %dx%d", w, h)
	}
	if strings.Contains(got.String(), consolePW.Reveal()) {
		t.Error("the console password reached the browser")
	}
}
