package static

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/tailab/tailab/internal/userfile"
)

// FetchHostKey connects to an SSH server at addr and returns the host key it
// presents, without logging in (the key
// exchange comes before authentication).
func FetchHostKey(ctx context.Context, addr string, timeout time.Duration) (ssh.PublicKey, error) {
	var fp ssh.PublicKey
	errSeen := errors.New("host key seen")
	cfg := &ssh.ClientConfig{
		User: "tailab",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			fp = key
			return errSeen
		},
		Timeout: timeout,
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	_, _, _, err = ssh.NewClientConn(conn, addr, cfg)
	if fp == nil {
		return nil, fmt.Errorf("ssh %s: no host key: %w", addr, err)
	}
	return fp, nil
}

// knownHosts are the host keys of an OpenSSH known_hosts file, as
// fingerprints by host (hashed names work too).
type knownHosts struct{ cb ssh.HostKeyCallback }

// knownHosts reads the inventory's known_hosts file (nil: none).
func (inv *Inventory) knownHosts() (*knownHosts, error) {
	if inv.KnownHosts == "" {
		return &knownHosts{}, nil
	}
	path := inv.KnownHosts
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(inv.File), path) // relative to the inventory
	}
	if _, err := userfile.Read(path); err != nil {
		return nil, fmt.Errorf("inventory %s: known_hosts: %w", inv.File, err)
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: known_hosts: %w", inv.File, err)
	}
	return &knownHosts{cb: cb}, nil
}

// check tells whether known_hosts lists key for host:port: known is false
// when it lists no key for that host; want is then "", else the fingerprint
// it lists when key is not that one.
func (k *knownHosts) check(host string, port int, key ssh.PublicKey) (known bool, want string) {
	if k == nil || k.cb == nil {
		return false, ""
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	remote := &net.TCPAddr{IP: net.ParseIP(host), Port: port}
	err := k.cb(addr, remote, key)
	var ke *knownhosts.KeyError
	switch {
	case err == nil:
		return true, ""
	case errors.As(err, &ke) && len(ke.Want) > 0:
		return true, ssh.FingerprintSHA256(ke.Want[0].Key)
	}
	return false, ""
}
