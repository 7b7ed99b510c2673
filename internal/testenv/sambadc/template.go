package sambadc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// TemplateRoot is where provisioned templates are cached between test runs.
var TemplateRoot = "/var/tmp"

const readyMarker = ".tailab-ready"

// Template returns the directory of the provisioned domain template, provisioning
// it first when the cache has none (about 15 s). Concurrent test processes wait on
// a lock file; the result is reused by later runs.
func Template() (string, error) {
	dir := filepath.Join(TemplateRoot, "tailab-test-samba-template-"+templateKey())
	if _, err := os.Stat(filepath.Join(dir, readyMarker)); err == nil {
		return dir, nil
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(filepath.Join(dir, readyMarker)); err == nil {
		return dir, nil // another process made it while we waited
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := provision(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args[:min(3, len(args))], " "), err, out)
	}
	return nil
}

func provision(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "run", "ntp_signd"), 0o750); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "run", "ntp_signd"), 0o750); err != nil {
		return err
	}
	if err := addLoopback(templateIP); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		return err
	}
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	err := run("samba-tool", "domain", "provision", "-s", empty,
		"--realm="+Realm, "--domain="+NetBIOSDomain, "--server-role=dc",
		"--dns-backend=SAMBA_INTERNAL", "--adminpass="+AdminPassword,
		"--host-name="+HostName, "--host-ip="+templateIP, "--targetdir="+dir,
		"--option=pid directory="+filepath.Join(dir, "run"),
		"--option=ntp signd socket directory="+filepath.Join(dir, "run", "ntp_signd"),
		"--option=ncalrpc dir="+filepath.Join(dir, "run", "ncalrpc"),
		"--option=log file="+filepath.Join(dir, "log", "samba.log"),
		"--option=dns forwarder=127.0.0.1")
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	err = run("samba-tool", "user", "setexpiry", "Administrator", "--noexpiry",
		"-s", conf, "-H", "tdb://"+filepath.Join(dir, "private", "sam.ldb"))
	if err != nil {
		return fmt.Errorf("setexpiry: %w", err)
	}
	// Start once so that the TLS key and certificate (4096 bits, ~5 s) are made
	// here rather than in every copy.
	raw, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	first := filepath.Join(dir, "etc", "first-start.conf")
	body := strings.Replace(string(raw), "[global]\n",
		"[global]\n\tinterfaces = "+templateIP+"\n\tbind interfaces only = yes\n", 1)
	if err := os.WriteFile(first, []byte(body), 0o644); err != nil {
		return err
	}
	samba, err := exec.LookPath("samba")
	if err != nil {
		samba = "/usr/sbin/samba"
	}
	cmd, logf, err := startSamba(samba, dir, first)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	werr := waitPorts(60*time.Second, templateIP+":389", templateIP+":636")
	stopSamba(cmd)
	if werr != nil {
		out, _ := os.ReadFile(logf)
		slog, _ := os.ReadFile(filepath.Join(dir, "log", "samba.log"))
		if len(slog) > 6000 {
			slog = slog[len(slog)-6000:]
		}
		return fmt.Errorf("first start: %w\n%s\n%s", werr, out, slog)
	}
	if _, err := os.Stat(filepath.Join(dir, "private", "tls", "key.pem")); err != nil {
		return fmt.Errorf("first start made no TLS key: %w", err)
	}
	for _, f := range []string{first, empty, logf} {
		os.Remove(f)
	}
	pids, _ := filepath.Glob(filepath.Join(dir, "run", "*.pid"))
	for _, p := range pids {
		os.Remove(p)
	}
	return os.WriteFile(filepath.Join(dir, readyMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}
