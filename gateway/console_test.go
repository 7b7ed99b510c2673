package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/tailab/tailab/internal/rfb"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/guest"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// consoleMap finds consoles in a map (candidate/machine → console): the
// tests' stand-in for the provider, pointing at real QEMU VNC servers.
type consoleMap struct {
	mu sync.Mutex
	m  map[string]*provision.Console
}

func (c *consoleMap) set(key string, con *provision.Console) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = con
}

func (c *consoleMap) Console(_ context.Context, candidate, machine string) (*provision.Console, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	con, ok := c.m[candidate+"/"+machine]
	if !ok {
		return nil, fmt.Errorf("no console for %s/%s", candidate, machine)
	}
	return con, nil
}

// startVM boots the tiny guest under QEMU/TCG, named name (the VNC desktop
// name), with its VNC console on 127.0.0.1 asking for password, as libvirt
// makes it. It returns the console's address.
func startVM(t *testing.T, name, password string) (string, int) {
	t.Helper()
	bin := testenv.RequireBinary(t, "qemu-system-x86_64")
	g := guest.Build(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if port < 5900 {
		t.Fatalf("port %d below VNC's 5900", port)
	}
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw") // what libvirt gives QEMU too: the password, not on the command line
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "disk.qcow2")
	if err := g.Overlay(overlay); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-nodefaults", "-machine", "accel=tcg", "-m", "128", "-vga", "std", "-name", name,
		"-kernel", g.Kernel, "-initrd", g.Initrd, "-append", "console=ttyS0 panic=-1",
		"-drive", "file="+overlay+",if=virtio,format=qcow2",
		"-object", "secret,id=vncpw,file="+pwFile,
		"-vnc", fmt.Sprintf("127.0.0.1:%d,password-secret=vncpw", port-5900),
		"-serial", "file:"+filepath.Join(dir, "serial.log"), "-monitor", "none", "-no-reboot")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a killed test binary leaves no VM behind
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(60 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "127.0.0.1", port
		}
		if time.Now().After(deadline) {
			t.Fatalf("QEMU's VNC server never listened on %s: %s", addr, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// consoleLab is startLab with the console lab (a VM ws per candidate, a
// console only), one QEMU VM per candidate behind ws, each with its
// candidate's console password from the session's secrets.
func consoleLab(t *testing.T) (*lab, *consoleMap, map[string]string) {
	t.Helper()
	l := startLabFile(t, 2, "testdata/console-lab.yaml")
	finder := &consoleMap{m: map[string]*provision.Console{}}
	l.gw.cfg.Consoles = finder
	pws := map[string]string{}
	for _, c := range []string{"c01", "c02"} {
		pw, err := l.st.ConsolePassword("s1", c)
		if err != nil {
			t.Fatal(err)
		}
		pws[c] = pw.Reveal()
		host, port := startVM(t, "vm-"+c, pw.Reveal())
		finder.set(c+"/ws", &provision.Console{Type: "vnc", Host: host, Port: port, Password: pw})
		if err := l.st.PutMachines([]provision.MachineState{{Session: "s1", Candidate: c, Machine: "ws", Kind: labs.KindVM,
			State: provision.StateReady, MgmtAddress: "127.0.0.99"}}); err != nil {
			t.Fatal(err)
		}
	}
	return l, finder, pws
}

func dialConsole(base, machine string, cookies []*http.Cookie) (*websocket.Conn, error) {
	cfg := wsConfig(base, machine, cookies, base)
	cfg.Location, _ = url.Parse(strings.Replace(base, "https", "wss", 1) + "/console?machine=" + url.QueryEscape(machine))
	return websocket.DialConfig(cfg)
}

// rfbClient is what a browser's noVNC does, recorded: it returns the
// security types it was offered, the desktop name, the first bytes of a
// framebuffer update, and every byte it received.
type rfbSeen struct {
	types  []byte
	name   string
	width  int
	update []byte
	all    []byte
	reason string // a refusal
}

func rfbClient(t *testing.T, ws *websocket.Conn) rfbSeen {
	t.Helper()
	var seen rfbSeen
	var rec bytes.Buffer
	r := io.TeeReader(ws, &rec)
	defer func() { seen.all = rec.Bytes() }()
	_ = ws.SetDeadline(time.Now().Add(60 * time.Second))
	ver := make([]byte, 12)
	if _, err := io.ReadFull(r, ver); err != nil || string(ver) != "RFB 003.008\n" {
		t.Fatalf("version %q: %v", ver, err)
	}
	_, _ = ws.Write([]byte("RFB 003.008\n"))
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		t.Fatal(err)
	}
	if n[0] == 0 {
		seen.reason = rfb.ReadReason(r)
		return seen
	}
	seen.types = make([]byte, n[0])
	_, _ = io.ReadFull(r, seen.types)
	_, _ = ws.Write([]byte{rfb.SecNone})
	var res [4]byte
	if _, err := io.ReadFull(r, res[:]); err != nil || binary.BigEndian.Uint32(res[:]) != 0 {
		t.Fatalf("security result %v: %v", res, err)
	}
	_, _ = ws.Write([]byte{0}) // ClientInit, exclusive: the gateway makes it shared
	init := make([]byte, 24)
	if _, err := io.ReadFull(r, init); err != nil {
		t.Fatalf("ServerInit: %v", err)
	}
	seen.width = int(binary.BigEndian.Uint16(init[0:2]))
	name := make([]byte, binary.BigEndian.Uint32(init[20:24]))
	_, _ = io.ReadFull(r, name)
	seen.name = string(name)
	h := binary.BigEndian.Uint16(init[2:4])
	// FramebufferUpdateRequest, not incremental, the whole screen
	req := []byte{3, 0, 0, 0, 0, 0, init[0], init[1], byte(h >> 8), byte(h)}
	_, _ = ws.Write(req)
	seen.update = make([]byte, 4)
	if _, err := io.ReadFull(r, seen.update); err != nil {
		t.Fatalf("framebuffer update: %v", err)
	}
	return seen
}

// TestConsole opens VM consoles through the gateway as noVNC would: the
// browser is offered security type None only and gets the desktop of the
// candidate's own VM, never another's; the password never reaches the
// browser, the logs or the audit log; a VNC server refusing the password,
// a machine of another candidate, a container and the closed window are
// refused; at the close a live console is closed after the grace period.
func TestConsole(t *testing.T) {
	l, finder, pws := consoleLab(t)
	var logs bytes.Buffer
	l.gw.cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	l.open(t)
	base, c := l.startWeb(t)
	if code, _ := postLogin(t, c, base, "c02", l.passwords["c02"]); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if code, body := get(t, c, base+"/"); code != 200 || !strings.Contains(body, `data-console="ws"`) || strings.Contains(body, `data-console="srv"`) ||
		!strings.Contains(body, "/static/console.js") || strings.Contains(body, pws["c02"]) {
		t.Errorf("candidate page: %d %s", code, body)
	}
	if code, body := get(t, c, base+"/static/console.js"); code != 200 || !strings.Contains(body, "vendor/novnc/core/rfb.js") {
		t.Errorf("console.js: %d", code)
	}
	u, _ := url.Parse(base)
	c02 := c.Jar.Cookies(u)

	ws, err := dialConsole(base, "ws", c02)
	if err != nil {
		t.Fatal(err)
	}
	seen := rfbClient(t, ws)
	if string(seen.types) != string([]byte{rfb.SecNone}) {
		t.Errorf("the browser was offered security types %v, want [1] (None) only", seen.types)
	}
	if seen.name != "QEMU (vm-c02)" || seen.width == 0 { // QEMU names the desktop after -name
		t.Errorf("c02's console shows desktop %q (width %d), want QEMU (vm-c02)", seen.name, seen.width)
	}
	if seen.update[0] != 0 {
		t.Errorf("after a FramebufferUpdateRequest: message type %d, want 0 (FramebufferUpdate)", seen.update[0])
	}
	if bytes.Contains(seen.all, []byte(pws["c02"])) {
		t.Error("the console password reached the browser")
	}

	// c02 cannot reach c01's VM, whatever the name says
	for _, name := range []string{"../c01/ws", "c01/ws", "c01+ws", "srv", "nope"} {
		ws, err := dialConsole(base, name, c02)
		if err != nil {
			t.Fatal(err)
		}
		got := rfbClient(t, ws)
		ws.Close()
		if got.reason == "" || got.name != "" {
			t.Errorf("console %q for c02: reason %q, desktop %q: want a refusal", name, got.reason, got.name)
		}
	}
	// a browser that does not speak RFB is dropped; the gateway goes on
	bad, err := dialConsole(base, "ws", c02)
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.SetDeadline(time.Now().Add(30 * time.Second))
	ver := make([]byte, 12)
	_, _ = io.ReadFull(bad, ver)
	_, _ = bad.Write([]byte("GET / HTTP/1.1\r\n\r\n\x00\xff"))
	if n, _ := io.Copy(io.Discard, bad); n != 0 {
		t.Errorf("a browser speaking garbage got %d more bytes", n)
	}
	bad.Close()
	// c01, whose console points at c02's VM: c01's password is refused there
	l2 := c01Client(t, l, base)
	finder.set("c01/ws", mustConsole(t, finder, "c02/ws", pws["c01"]))
	ws1, _ := dialConsole(base, "ws", l2)
	if got := rfbClient(t, ws1); !strings.Contains(got.reason, "ne répond pas") || got.name != "" {
		t.Errorf("c01's password on c02's VM: reason %q desktop %q, want refused", got.reason, got.name)
	}
	ws1.Close()

	log := l.auditLog(t)
	for _, want := range [][]string{{"c02 console c02 ws", "opened (web from"}, {"c02 console c02 ../c01/ws", "refused: no machine"},
		{"c02 console c02 srv", "refused: machine srv is a container"}, {"c01 console c01 ws", "failed:", "refused the console password"},
		{"c02 console c02 ws", "failed: browser handshake: not an RFB version"}} {
		if !hasLine(log, want...) {
			t.Errorf("audit log lacks %q:\n%s", want, strings.Join(log, "\n"))
		}
	}
	for c, pw := range pws {
		if strings.Contains(strings.Join(log, "\n"), pw) || strings.Contains(logs.String(), pw) {
			t.Errorf("%s's console password in the audit log or the gateway's log", c)
		}
	}

	// the close: no new console, the live one closed after the grace period
	if _, err := CloseWindow(l.store, "s1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := dialConsole(base, "ws", c02); err == nil {
		t.Error("a console opened after the close")
	}
	_ = ws.SetDeadline(time.Now().Add(30 * time.Second))
	t0 := time.Now()
	if _, err := io.Copy(io.Discard, ws); err != nil && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "closed") {
		t.Errorf("live console after the close: %v (after %s)", err, time.Since(t0))
	}
	if d := time.Since(t0); d > 25*time.Second {
		t.Errorf("live console still open %s after the close", d)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) { // the relay ends just after the socket
		log := l.auditLog(t)
		if hasLine(log, "c02 console c02 ws", "closed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit log lacks the console's end:\n%s", strings.Join(log, "\n"))
		}
	}
}

// c01Client logs c01 in and returns the cookies.
func c01Client(t *testing.T, l *lab, base string) []*http.Cookie {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // startWeb's client pinned it
	if code, _ := postLogin(t, c, base, "c01", l.passwords["c01"]); code != 303 {
		t.Fatalf("c01 login: %d", code)
	}
	u, _ := url.Parse(base)
	return c.Jar.Cookies(u)
}

// mustConsole is the console at key with another password.
func mustConsole(t *testing.T, f *consoleMap, key, password string) *provision.Console {
	t.Helper()
	con, err := f.Console(context.Background(), strings.Split(key, "/")[0], strings.Split(key, "/")[1])
	if err != nil {
		t.Fatal(err)
	}
	cp := *con
	cp.Password = secret.New(password)
	return &cp
}
