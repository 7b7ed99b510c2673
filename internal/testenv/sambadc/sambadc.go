// Package sambadc starts a real Samba Active Directory domain controller for
// integration tests (shared/recipes/samba-ad.md).
//
// The domain (LAB.LOCAL, NetBIOS LAB, DC dc1) is provisioned once into a template
// directory cached under /var/tmp (tailab-test-samba-template-<hash>, the hash
// covering the Samba version and the provisioning parameters), started once there
// so that its TLS key exists, then copied for every DC a test starts. Each copy runs
// `samba -F --no-process-group -M single` in a private mount namespace where the
// copy's run/ directory is bound over /run/samba, listening only on its own
// loopback address (127.0.10.N), so several DCs coexist in one test network
// namespace. The test package's TestMain must call testenv.RunInNetns.
//
// Measured on the 2-core development machine (Samba 4.17.12, Go 1.26): making the
// template (provisioning plus a first start that creates the TLS key) 8.8 s, once
// per machine and Samba version; each Start then costs 0.15 s of copying and
// 0.4-1.4 s in all until LDAP (389), LDAPS (636) and SMB (445) accept connections
// (DC.Startup records it); a typical fixture set (2 OUs, 3 users, 2 nested groups,
// a GPO and its link: 11 samba-tool calls) takes 2.4-3 s; stopping takes < 0.1 s.
//
// Fixtures are made with samba-tool over LDAP as Administrator (CreateOU,
// CreateUser, CreateGroup, AddMembers, CreateGPO, LinkGPO, ...). File shares are
// declared when the DC starts (Options.Shares), served by the DC's own smbd with
// share-level per-user rights.
package sambadc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
)

// Domain facts of every DC this package starts.
const (
	Realm         = "LAB.LOCAL"
	NetBIOSDomain = "LAB"
	HostName      = "dc1"
	BaseDN        = "DC=lab,DC=local"
	// AdminPassword is the Administrator password (a test fixture, not a secret).
	AdminPassword = "Tailab-Test-Adm1n!"
	// AdminUPN is the Administrator's user principal name, usable for simple binds.
	AdminUPN = "Administrator@" + Realm
	// templateIP is the address given to provisioning; each copy listens on its own.
	templateIP = "127.0.10.1"
	// recipeVersion changes the template hash when the provisioning steps change.
	recipeVersion = "3"
)

// Share is a file share the DC serves, with share-level rights. Users are
// sAMAccountNames of the domain (the LAB\ prefix is added).
type Share struct {
	Name string
	// Files are created in the share's directory before the DC starts (name → content).
	Files map[string]string
	// Dirs are created in the share's directory (relative paths).
	Dirs []string
	// ReadUsers may read and list; WriteUsers may also write. When both are empty,
	// every authenticated user may write.
	ReadUsers, WriteUsers []string
}

// Options tune a DC.
type Options struct {
	// PlainLDAP allows simple binds without TLS on port 389
	// (`ldap server require strong auth = no`).
	PlainLDAP bool
	// Shares are added to the DC's smb.conf.
	Shares []Share
}

// DC is a running domain controller.
type DC struct {
	Dir      string // the DC's private copy of the template
	IP       string // loopback address it listens on
	Realm    string
	Domain   string // NetBIOS domain name
	BaseDN   string
	AdminUPN string
	// AdminPassword is the Administrator's password.
	AdminPassword string
	// Startup is the time from the copy to LDAP, LDAPS and SMB answering.
	Startup time.Duration

	cmd  *exec.Cmd
	logf string
}

var nextIP atomic.Int32

// LDAPAddr is host:389, LDAPSAddr host:636, SMBAddr host:445.
func (dc *DC) LDAPAddr() string  { return dc.IP + ":389" }
func (dc *DC) LDAPSAddr() string { return dc.IP + ":636" }
func (dc *DC) SMBAddr() string   { return dc.IP + ":445" }

// CAFile is the PEM file of the CA that signed the DC's self-signed TLS certificate.
func (dc *DC) CAFile() string { return filepath.Join(dc.Dir, "private", "tls", "ca.pem") }

// ConfFile is the DC's smb.conf.
func (dc *DC) ConfFile() string { return filepath.Join(dc.Dir, "etc", "smb.conf") }

// SharePath is the directory served by a share declared in Options.Shares.
func (dc *DC) SharePath(name string) string { return filepath.Join(dc.Dir, "shares", name) }

// Start starts a DC for the test and stops it when the test ends. It needs root,
// the samba binaries and a private network namespace; without them it fails in CI
// and skips elsewhere.
func Start(t testing.TB, opts Options) *DC {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireIsolatedNetwork(t)
	samba := testenv.RequireBinary(t, "samba")
	testenv.RequireBinary(t, "samba-tool")
	testenv.RequireBinary(t, "unshare")

	tStart := time.Now()
	tmpl, err := Template()
	if err != nil {
		t.Fatalf("samba template: %v", err)
	}
	if d := time.Since(tStart); d > time.Second {
		t.Logf("samba template %s ready in %s (provisioned or waited for)", tmpl, d.Round(10*time.Millisecond))
	}
	n := nextIP.Add(1)
	tmp := t.TempDir()
	// Domain users reach the share directories through it: open it (and the
	// test's temp root above it) to others.
	for _, d := range []string{tmp, filepath.Dir(tmp)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dc := &DC{
		Dir: filepath.Join(tmp, "dc"), IP: fmt.Sprintf("127.0.10.%d", 10+n),
		Realm: Realm, Domain: NetBIOSDomain, BaseDN: BaseDN,
		AdminUPN: AdminUPN, AdminPassword: AdminPassword,
	}
	begin := time.Now()
	if err := addLoopback(dc.IP); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", tmpl, dc.Dir).CombinedOutput(); err != nil {
		t.Fatalf("copy samba template: %v: %s", err, out)
	}
	if err := os.Chmod(dc.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := dc.configure(tmpl, opts); err != nil {
		t.Fatalf("configure DC: %v", err)
	}
	dc.start(t, samba)
	if err := waitPorts(30*time.Second, dc.LDAPAddr(), dc.LDAPSAddr(), dc.SMBAddr()); err != nil {
		t.Fatalf("samba DC on %s: %v\n%s", dc.IP, err, dc.log())
	}
	dc.Startup = time.Since(begin)
	t.Logf("samba DC %s up in %s", dc.IP, dc.Startup.Round(10*time.Millisecond))
	return dc
}

// configure rewrites the copy's smb.conf: its paths, its address, its shares.
func (dc *DC) configure(tmpl string, opts Options) error {
	raw, err := os.ReadFile(dc.ConfFile())
	if err != nil {
		return err
	}
	conf := strings.ReplaceAll(string(raw), tmpl, dc.Dir)
	global := []string{
		"interfaces = " + dc.IP,
		"bind interfaces only = yes",
	}
	if opts.PlainLDAP {
		global = append(global, "ldap server require strong auth = no")
	}
	conf = strings.Replace(conf, "[global]\n", "[global]\n\t"+strings.Join(global, "\n\t")+"\n", 1)
	for _, s := range opts.Shares {
		dir := dc.SharePath(s.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
		for _, d := range s.Dirs {
			p := filepath.Join(dir, d)
			if err := os.MkdirAll(p, 0o777); err != nil {
				return err
			}
			_ = os.Chmod(p, 0o777)
		}
		for name, content := range s.Files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
				return err
			}
			for d := filepath.Dir(p); d != dir; d = filepath.Dir(d) {
				_ = os.Chmod(d, 0o777) // past the umask: rights are the share's business
			}
			if err := os.WriteFile(p, []byte(content), 0o666); err != nil {
				return err
			}
			_ = os.Chmod(p, 0o666)
		}
		conf += fmt.Sprintf("\n[%s]\n\tpath = %s\n", s.Name, dir)
		if len(s.ReadUsers)+len(s.WriteUsers) == 0 {
			conf += "\tread only = no\n"
			continue
		}
		all := append(append([]string{}, s.ReadUsers...), s.WriteUsers...)
		conf += "\tread only = yes\n\tvalid users = " + qualify(all) + "\n"
		if len(s.WriteUsers) > 0 {
			conf += "\twrite list = " + qualify(s.WriteUsers) + "\n"
		}
	}
	return os.WriteFile(dc.ConfFile(), []byte(conf), 0o644)
}

func qualify(users []string) string {
	q := make([]string, len(users))
	for i, u := range users {
		q[i] = `"` + NetBIOSDomain + `\` + u + `"`
	}
	return strings.Join(q, " ")
}

// start runs samba in a private mount namespace with dc.Dir/run over /run/samba.
func (dc *DC) start(t testing.TB, samba string) {
	t.Helper()
	for _, pat := range []string{"run/*.pid", "run/samba/*.pid"} {
		m, _ := filepath.Glob(filepath.Join(dc.Dir, pat))
		for _, f := range m {
			os.Remove(f)
		}
	}
	cmd, logf, err := startSamba(samba, dc.Dir, dc.ConfFile())
	if err != nil {
		t.Fatalf("start samba: %v", err)
	}
	dc.cmd, dc.logf = cmd, logf
	t.Cleanup(func() {
		stopSamba(cmd)
		if t.Failed() {
			t.Logf("samba DC %s log:\n%s", dc.IP, dc.log())
		}
	})
}

func startSamba(samba, dir, conf string) (*exec.Cmd, string, error) {
	logf := filepath.Join(dir, "log", "samba-stdout.log")
	if err := os.MkdirAll(filepath.Dir(logf), 0o755); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll("/run/samba", 0o755); err != nil {
		return nil, "", err
	}
	out, err := os.Create(logf)
	if err != nil {
		return nil, "", err
	}
	defer out.Close()
	script := fmt.Sprintf("mount --bind %q /run/samba && exec %q -F --no-process-group -M single -s %q",
		filepath.Join(dir, "run"), samba, conf)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that stopping it also stops the smbd and winbindd it
	// forks (and nothing else).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	return cmd, logf, nil
}

// stopSamba stops the samba process group started by startSamba: SIGTERM, then
// SIGKILL after 5 s.
func stopSamba(cmd *exec.Cmd) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// Children that outlived the master still belong to the group.
	deadline := time.Now().Add(3 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func (dc *DC) log() string {
	var b strings.Builder
	for _, f := range []string{dc.logf, filepath.Join(dc.Dir, "log", "samba.log")} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		fmt.Fprintf(&b, "== %s ==\n%s\n", filepath.Base(f), data)
	}
	return b.String()
}

// templateKey hashes what determines the template's content.
func templateKey() string {
	ver, _ := exec.Command("samba", "-V").Output()
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s|%s", ver, Realm, NetBIOSDomain, HostName, AdminPassword, templateIP, recipeVersion)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// waitPorts waits until every address accepts TCP connections.
func waitPorts(timeout time.Duration, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not accepting connections after %s: %w", a, timeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// addLoopback adds ip/32 to lo, so that samba, which only binds addresses of
// configured interfaces, finds it. Only ever inside the test's own network
// namespace (Start checks testenv.IsolatedNetwork first).
func addLoopback(ip string) error {
	if !testenv.IsolatedNetwork() {
		return fmt.Errorf("refusing to add %s to lo outside a private network namespace", ip)
	}
	out, err := exec.Command("ip", "addr", "replace", ip+"/32", "dev", "lo").CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip addr replace %s/32 dev lo: %w: %s", ip, err, out)
	}
	return nil
}
