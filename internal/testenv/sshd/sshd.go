// Package sshd starts a real OpenSSH server for integration tests.
//
// The server listens on a loopback address of the test's private network namespace
// (see testenv.RunInNetns), with a host key generated for the test, key
// authentication for root through an authorized_keys file in the test's temp dir,
// and optionally password authentication for root. The password lives only in a
// copy of /etc/shadow that is bind-mounted over the real one inside a private mount
// namespace started for sshd alone (unshare -m): the host's /etc/shadow, /etc/ssh
// and /root/.ssh are never touched.
package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/testenv"
)

// Options configure a test server. The zero value listens on 127.0.0.1 with key
// authentication only.
type Options struct {
	// Host is the loopback address to listen on (default 127.0.0.1).
	Host string
	// Password, when set, enables password authentication for root with it.
	Password string
	// AuthorizedKeys are the public keys accepted for root.
	AuthorizedKeys []ssh.PublicKey
	// Extra lines appended to sshd_config.
	Extra []string
	// Port to listen on (default: a free one).
	Port int
	// Hostname, when set, gives sshd a UTS namespace of its own with that
	// host name (what `hostname` prints in its sessions).
	Hostname string
}

// Server is a running sshd.
type Server struct {
	Host string // listen address
	Port int
	User string // the account to log in as: root
	// HostKey is the server's public host key; Fingerprint its SHA256 form.
	HostKey     ssh.PublicKey
	Fingerprint string
	// Dir is the server's private directory (config, keys, log).
	Dir string
	log string
	cmd *exec.Cmd
}

// Stop stops the server (its listener: sessions it forked may end later),
// and waits until it has exited: another server may then take its port.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Log returns sshd's log so far (LogLevel VERBOSE).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Start starts sshd and waits until it accepts connections; it is stopped when the
// test ends. It needs root, unshare and openssh-server (fails in CI, skips elsewhere).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireIsolatedNetwork(t)
	testenv.RequireBinary(t, "sshd")
	testenv.RequireBinary(t, "unshare")
	s, err := Launch(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log())
		}
	})
	return s
}

// Launch is Start outside a test (an Example has no testing.TB): the server's
// files go to dir, and the caller stops it (Stop) before removing dir. It
// needs root and a private network namespace, as Start does.
func Launch(dir string, o Options) (*Server, error) {
	bin, err := exec.LookPath("sshd")
	if err != nil {
		return nil, err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, err
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		if o.Port, err = freePort(o.Host); err != nil {
			return nil, err
		}
	}
	s := &Server{Host: o.Host, Port: o.Port, User: "root", Dir: dir,
		log: filepath.Join(dir, "sshd.log")}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "tailab test host key")
	if err != nil {
		return nil, err
	}
	hostKeyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(hostKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	if s.HostKey, err = ssh.NewPublicKey(pub); err != nil {
		return nil, err
	}
	s.Fingerprint = ssh.FingerprintSHA256(s.HostKey)

	var ak strings.Builder
	for _, k := range o.AuthorizedKeys {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	akPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(akPath, []byte(ak.String()), 0o600); err != nil {
		return nil, err
	}
	passwordAuth := "no"
	shadowPath := ""
	if o.Password != "" {
		passwordAuth = "yes"
		shadowPath = filepath.Join(dir, "shadow")
		if err := writeShadow(shadowPath, o.Password); err != nil {
			return nil, err
		}
	}
	cfg := []string{
		"ListenAddress " + s.Addr(),
		"HostKey " + hostKeyPath,
		"PidFile none",
		"UsePAM no",
		"PermitRootLogin yes",
		"PasswordAuthentication " + passwordAuth,
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"AuthorizedKeysFile " + akPath,
		"StrictModes no",
		"LogLevel VERBOSE",
		"MaxStartups 50",
		"UseDNS no",
		"Subsystem sftp internal-sftp",
	}
	cfg = append(cfg, o.Extra...)
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(cfg, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}

	// sshd needs /run/sshd (privilege separation); give it a private /run, and the
	// shadow copy when a password is set, in a mount namespace of its own.
	script := "set -e; mount --make-rprivate /; mount -t tmpfs -o mode=755 tailab-run /run; mkdir -m 755 /run/sshd\n"
	if shadowPath != "" {
		script += "mount --bind " + shellQuote(shadowPath) + " /etc/shadow\n"
	}
	ns := []string{"-m"}
	if o.Hostname != "" {
		ns = []string{"-m", "-u"}
		script += "hostname " + shellQuote(o.Hostname) + "\n"
	}
	test := script + shellQuote(bin) + " -t -f " + shellQuote(cfgPath) + "\n"
	if out, err := exec.Command(unshare, append(ns, "sh", "-c", test)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sshd -t: %v\n%s", err, out)
	}
	script += "exec " + shellQuote(bin) + " -D -E " + shellQuote(s.log) + " -f " + shellQuote(cfgPath) + "\n"
	out, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	s.cmd = exec.Command(unshare, append(ns, "sh", "-c", script)...)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("sshd on %s did not accept connections within 10s: %v\n%s", s.Addr(), err, s.Log())
		}
	}
}

// freePort is a TCP port free on host.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeShadow copies /etc/shadow with root's password hash replaced.
func writeShadow(path, password string) error {
	cmd := exec.Command("openssl", "passwd", "-6", "-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hash password with openssl: %w", err)
	}
	hash := strings.TrimSpace(string(out))
	orig, err := os.ReadFile("/etc/shadow")
	if err != nil {
		return fmt.Errorf("read /etc/shadow: %w", err)
	}
	lines := strings.Split(string(orig), "\n")
	found := false
	for i, l := range lines {
		f := strings.Split(l, ":")
		if len(f) > 2 && f[0] == "root" {
			f[1] = hash
			lines[i] = strings.Join(f, ":")
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no root entry in /etc/shadow")
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600)
}

// NewClientKey generates an ed25519 key pair: the signer for the client, its PEM
// (OpenSSH format, as Credentials.PrivateKey holds it) and the public key to
// authorize.
func NewClientKey(t testing.TB) (signer ssh.Signer, pemText string, pub ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "tailab test client key")
	if err != nil {
		t.Fatal(err)
	}
	signer, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block)), signer.PublicKey()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
