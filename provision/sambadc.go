package provision

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tailab/tailab/labs"
)

// SambaDCTemplateRoot is where the host keeps provisioned Samba AD domains that
// samba-dc containers copy at first start (templates/lxc/init.sh reads the same
// path through the host's read-only /var).
var SambaDCTemplateRoot = "/var/cache/tailab/samba-dc"

// SambaDCEnvFile is the machine file that turns a container's samba-dc service
// into a domain of its own (REALM, DOMAIN, DC_HOST, DC_IP, ADMINPASS).
const SambaDCEnvFile = "/srv/samba-dc.env"

// SambaDCSpec is the domain a samba-dc container provisions.
type SambaDCSpec struct {
	Realm, Domain, Host, IP string
}

// SambaDCSpecs lists the distinct domains of an instance's samba-dc containers
// that declare SambaDCEnvFile.
func SambaDCSpecs(in *labs.Instance) []SambaDCSpec {
	seen := map[SambaDCSpec]bool{}
	var out []SambaDCSpec
	for _, m := range in.Machines {
		s, ok := SambaDCSpecOf(m)
		if !ok {
			continue
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// SambaDCSpecOf is the domain of a machine that declares SambaDCEnvFile.
func SambaDCSpecOf(m labs.Machine) (SambaDCSpec, bool) {
	env, ok := m.Files[SambaDCEnvFile]
	if !ok {
		return SambaDCSpec{}, false
	}
	v := parseEnv(env)
	return SambaDCSpec{Realm: v["REALM"], Domain: v["DOMAIN"], Host: v["DC_HOST"], IP: v["DC_IP"]}, true
}

// parseEnv reads KEY=VALUE lines (values optionally single- or double-quoted).
func parseEnv(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// sambaACLOption keeps NT ACLs in user.NTACL, which root of a container in a
// user namespace can write (security.NTACL needs CAP_SYS_ADMIN on the host):
// the template's smb.conf keeps it (lxc-containment recipe, section 4).
const sambaACLOption = "acl_xattr:security_acl_name=user.NTACL"

// sambaACLKey ends the template key: templates made before sambaACLOption
// are not used.
const sambaACLKey = "ntacl-user"

// templateKey is the directory name init.sh computes: realm, domain, host, IP,
// Samba's version and sambaACLKey, lower-cased, other characters than
// [a-z0-9._-] as '_'.
func (s SambaDCSpec) templateKey() (string, error) {
	out, err := exec.Command("samba", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("samba --version: %w", err)
	}
	raw := strings.ToLower(strings.Join([]string{s.Realm, s.Domain, s.Host, s.IP, strings.TrimRight(string(out), "\n"), sambaACLKey}, "_"))
	b := []byte(raw)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b), nil
}

// EnsureSambaDCTemplate provisions the domain once into SambaDCTemplateRoot (about
// 10 s), with a TLS key and certificate already made (Samba's own first start
// makes a 4096-bit key: ~5 s per container), and returns its directory. Copies
// reset the Administrator password, so the template's own is random.
func EnsureSambaDCTemplate(ctx context.Context, s SambaDCSpec) (string, error) {
	key, err := s.templateKey()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(SambaDCTemplateRoot, key)
	if _, err := os.Stat(filepath.Join(dir, ".tailab-ready")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(SambaDCTemplateRoot, 0o755); err != nil {
		return "", fmt.Errorf("samba-dc template: %w", err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("samba-dc template lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("samba-dc template lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(filepath.Join(dir, ".tailab-ready")); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := provisionSambaDC(ctx, s, dir); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("samba-dc template %s: %w", key, err)
	}
	return dir, nil
}

func provisionSambaDC(ctx context.Context, s SambaDCSpec, dir string) error {
	signd := filepath.Join(dir, "run", "ntp_signd")
	if err := os.MkdirAll(signd, 0o750); err != nil {
		return err
	}
	if err := os.Chmod(signd, 0o750); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		return err
	}
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	pw := "T1-" + rand.Text()
	run := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "samba-tool", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("samba-tool %s: %w\n%s", strings.Join(args[:2], " "), err, out)
		}
		return nil
	}
	err := run("domain", "provision", "-s", empty, "--realm="+s.Realm, "--domain="+s.Domain,
		"--server-role=dc", "--dns-backend=SAMBA_INTERNAL", "--adminpass="+pw,
		"--host-name="+s.Host, "--host-ip="+s.IP, "--targetdir="+dir,
		"--option=pid directory="+filepath.Join(dir, "run"),
		"--option=ntp signd socket directory="+signd,
		"--option=ncalrpc dir="+filepath.Join(dir, "run", "ncalrpc"),
		"--option=log file="+filepath.Join(dir, "log", "samba.log"),
		"--option="+sambaACLOption)
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	if err := run("user", "setexpiry", "Administrator", "--noexpiry", "-s", conf, "-H", "tdb://"+filepath.Join(dir, "private", "sam.ldb")); err != nil {
		return err
	}
	if err := writeTLS(filepath.Join(dir, "private", "tls"), strings.ToLower(s.Host+"."+s.Realm)); err != nil {
		return err
	}
	os.Remove(empty)
	return os.WriteFile(filepath.Join(dir, ".tailab-ready"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// SambaDCTLS makes a self-signed 2048-bit key and certificate (PEM) for a DC
// named name (host.realm): each DC copied from a template gets its own, the
// template's is never reused (init.sh).
func SambaDCTLS(name string) (key, cert []byte, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"tailab lab DC"}},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	cert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	key = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return key, cert, nil
}

// writeTLS makes the self-signed key and certificate Samba would make at its
// first start (key.pem 0600, cert.pem, ca.pem), with a 2048-bit key.
func writeTLS(dir, name string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, cert, err := SambaDCTLS(name)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), cert, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ca.pem"), cert, 0o644)
}
