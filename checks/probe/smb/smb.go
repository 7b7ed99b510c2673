// Package smb is the `smb` probe: it tells whether a file share exists and what a
// given user can do in it (list, read, write), over SMB2/3 with NTLM, from pure Go
// (github.com/cloudsoda/go-smb2, the maintained fork of hirochachacha/go-smb2).
//
// # Parameters
//
//	share: Compta              # share name (required)
//	path: Factures/2026        # directory inside the share; default its root
//	file: lisezmoi.txt         # file (relative to path) that `read` reads
//	user: alice                # which of the target's credentials to use; default
//	                           # "smb" (falling back to the default credentials).
//	                           # DOMAIN\user, user@domain or a bare user with Domain
//	actions: [list, read, write]   # default [list]; read needs `file`; write creates
//	                           # a temporary file in path, writes it, removes it
//	port: 445                  # default: target port "smb", else 445
//
// # Values
//
//	share_exists  false when the server has no such share (STATUS_BAD_NETWORK_NAME);
//	              true also when the user is refused access to it
//	path_exists   false when path (or file, for read) does not exist
//	can_list      the directory could be listed (only with action list)
//	entries       its names, sorted, directories with a trailing "/" (with list)
//	can_read      file could be opened and read (with read)
//	content       the file's first 64 KiB, as text (with read, when readable)
//	can_write     a file could be created and written in path (with write)
//
// An access refusal is a value (false), never an error. Errors (status `error`):
// unreachable server, timeout, authentication failure (wrong password, unknown or
// disabled user), missing credentials. One SMB session per user per Run; each
// share is mounted once per session. Passwords are never shown.
package smb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
)

// DefaultTimeout bounds a request that has none.
const DefaultTimeout = 15 * time.Second

const maxContent = 64 << 10

// Actions.
const (
	ActionList  = "list"
	ActionRead  = "read"
	ActionWrite = "write"
)

var actions = []string{ActionList, ActionRead, ActionWrite}

// Params are one smb check's parameters (see the package documentation).
type Params struct {
	Share   string   `yaml:"share"`
	Path    string   `yaml:"path"`
	File    string   `yaml:"file"`
	User    string   `yaml:"user"`
	Actions []string `yaml:"actions"`
	Port    int      `yaml:"port"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate reports parameter mistakes with their position.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	bad := func(key, format string, args ...any) {
		f := key
		if field != "" {
			f = field + "." + key
		}
		d.Diags.Add(p.Positions.Of(key, at), f, format, args...)
	}
	if strings.TrimSpace(p.Share) == "" {
		bad("share", "share is required")
	} else if strings.ContainsAny(p.Share, `/\`) {
		bad("share", "share is a share name, not a path: %q", p.Share)
	}
	read := false
	for _, a := range p.Actions {
		if a == ActionRead {
			read = true
		}
		found := false
		for _, x := range actions {
			found = found || x == a
		}
		if !found {
			bad("actions", "unknown action %q%s", a, yamlx.Suggest(a, actions))
		}
	}
	if read && p.File == "" {
		bad("file", "action read needs the file to read")
	}
	if p.Port < 0 || p.Port > 65535 {
		bad("port", "port %d out of range", p.Port)
	}
}

func (p *Params) credName() string {
	if p.User == "" {
		return "smb"
	}
	return p.User
}

func (p *Params) actions() []string {
	if len(p.Actions) == 0 {
		return []string{ActionList}
	}
	return p.Actions
}

// SMB is the smb probe.
type SMB struct {
	// Dial opens TCP connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ probe.Probe = (*SMB)(nil)

// New returns the probe.
func New() *SMB { return &SMB{} }

// Type implements probe.Probe.
func (*SMB) Type() string { return "smb" }

// NewParams implements probe.Probe.
func (*SMB) NewParams() probe.Params { return &Params{} }

// session is one authenticated SMB session and the shares it mounted.
type session struct {
	s      *smb2.Session
	conn   net.Conn
	who    string
	shares map[string]*smb2.Share
	absent map[string]error // shares the server refused to mount, and why
}

// Run implements probe.Probe: requests are grouped by user, one session each.
func (m *SMB) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	obs := make([]probe.Observation, len(reqs))
	sessions := map[string]*session{}
	sessErr := map[string]error{}
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	failed := 0
	var firstErr error
	for i, r := range reqs {
		began := time.Now()
		obs[i].ID = r.ID
		p, ok := r.Params.(*Params)
		if !ok {
			obs[i].Err = fmt.Errorf("smb probe: params of type %T", r.Params)
			failed++
			continue
		}
		timeout := DefaultTimeout
		if r.Timeout > 0 {
			timeout = r.Timeout
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		name := p.credName()
		s, err := sessions[name], sessErr[name]
		if s == nil && err == nil {
			s, err = m.open(rctx, t, p)
			if err != nil {
				sessErr[name] = err
			} else {
				sessions[name] = s
			}
		}
		if err != nil {
			obs[i].Err = err
			obs[i].Evidence = t.Masker.Mask(err.Error())
		} else {
			values, ev, err := s.check(rctx, p)
			obs[i].Values = values
			obs[i].Evidence = t.Masker.Mask(ev)
			if err != nil {
				obs[i].Err = fmt.Errorf("smb %s: %w", t.Address, err)
				if rctx.Err() != nil {
					// A session that timed out is not reused.
					s.close()
					delete(sessions, name)
					sessErr[name] = obs[i].Err
				}
			}
		}
		cancel()
		obs[i].Duration = time.Since(began)
		if obs[i].Err != nil {
			failed++
			if firstErr == nil {
				firstErr = obs[i].Err
			}
		}
	}
	if failed == len(reqs) && firstErr != nil {
		return obs, firstErr
	}
	return obs, nil
}

// open dials and authenticates as the request's user.
func (m *SMB) open(ctx context.Context, t probe.Target, p *Params) (*session, error) {
	name := p.credName()
	if p.User != "" {
		if _, ok := t.Credentials[p.User]; !ok {
			return nil, fmt.Errorf("smb %s: no credentials named %q for machine %q", t.Address, p.User, t.Machine)
		}
	}
	c := t.Creds(name)
	if c.User == "" {
		return nil, fmt.Errorf("smb %s: credentials %q have no user", t.Address, name)
	}
	user, domain := splitUser(c.User, c.Domain)
	port := p.Port
	if port == 0 {
		port = t.Port("smb", 445)
	}
	addr := net.JoinHostPort(t.Address, strconv.Itoa(port))
	who := user
	if domain != "" {
		who = domain + `\` + user
	}
	dial := m.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smb %s: dial: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: user, Domain: domain, Password: c.Password.Reveal()}}
	s, err := d.DialConn(ctx, conn, addr)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, fmt.Errorf("smb %s: session as %s%s: %w", addr, who, statusReason(err), err)
	}
	return &session{s: s, conn: conn, who: who, shares: map[string]*smb2.Share{}, absent: map[string]error{}}, nil
}

func (s *session) close() {
	for _, sh := range s.shares {
		_ = sh.Umount()
	}
	_ = s.s.Logoff()
	s.conn.Close()
}

// splitUser turns DOMAIN\user into its parts; user@domain stays whole (NTLM
// accepts UPNs with an empty domain).
func splitUser(user, domain string) (string, string) {
	if d, u, ok := strings.Cut(user, `\`); ok {
		return u, d
	}
	if strings.Contains(user, "@") {
		return user, ""
	}
	return user, domain
}

// NTSTATUS codes the probe tells apart.
const (
	statusNoSuchFile          = 0xC000000F
	statusAccessDenied        = 0xC0000022
	statusObjectNameNotFound  = 0xC0000034
	statusObjectPathNotFound  = 0xC000003A
	statusLogonFailure        = 0xC000006D
	statusAccountRestriction  = 0xC000006E
	statusPasswordExpired     = 0xC0000071
	statusAccountDisabled     = 0xC0000072
	statusMediaWriteProtected = 0xC00000A2
	statusNetworkAccessDenied = 0xC00000CA
	statusBadNetworkName      = 0xC00000CC
	statusAccountLockedOut    = 0xC0000234
	statusPasswordMustChange  = 0xC0000224
)

func status(err error) uint32 {
	var re *smb2.ResponseError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func statusReason(err error) string {
	switch status(err) {
	case statusLogonFailure:
		return " (wrong user or password)"
	case statusAccountDisabled:
		return " (account disabled)"
	case statusAccountLockedOut:
		return " (account locked out)"
	case statusPasswordExpired:
		return " (password expired)"
	case statusPasswordMustChange:
		return " (user must change password)"
	case statusAccountRestriction:
		return " (account restriction)"
	}
	return ""
}

func denied(err error) bool {
	switch status(err) {
	case statusAccessDenied, statusNetworkAccessDenied, statusMediaWriteProtected:
		return true
	}
	return errors.Is(err, os.ErrPermission)
}

func notFound(err error) bool {
	switch status(err) {
	case statusNoSuchFile, statusObjectNameNotFound, statusObjectPathNotFound:
		return true
	}
	return errors.Is(err, os.ErrNotExist)
}

// mount returns the share, mounting it once per session; (nil, nil) when the
// share does not exist or access is refused (recorded in s.absent).
func (s *session) mount(name string) (*smb2.Share, error) {
	key := strings.ToLower(name)
	if sh, ok := s.shares[key]; ok {
		return sh, nil
	}
	if _, ok := s.absent[key]; ok {
		return nil, nil
	}
	sh, err := s.s.Mount(name)
	if err != nil {
		if status(err) == statusBadNetworkName || denied(err) {
			s.absent[key] = err
			return nil, nil
		}
		return nil, fmt.Errorf("mount %s: %w", name, err)
	}
	s.shares[key] = sh
	return sh, nil
}

// check runs one request's actions.
func (s *session) check(ctx context.Context, p *Params) (map[string]any, string, error) {
	var ev strings.Builder
	dir := strings.Trim(strings.ReplaceAll(p.Path, `\`, "/"), "/")
	fmt.Fprintf(&ev, "\\\\%s as %s: actions %s on %q\n", p.Share, s.who, strings.Join(p.actions(), ","), "/"+dir)
	values := map[string]any{"share_exists": false, "path_exists": false}
	for _, a := range p.actions() {
		switch a {
		case ActionList:
			values["can_list"] = false
			values["entries"] = []any{}
		case ActionRead:
			values["can_read"] = false
		case ActionWrite:
			values["can_write"] = false
		}
	}
	sh, err := s.mount(p.Share)
	if err != nil {
		return nil, ev.String(), err
	}
	if sh == nil {
		why := s.absent[strings.ToLower(p.Share)]
		if status(why) == statusBadNetworkName {
			ev.WriteString("share does not exist (STATUS_BAD_NETWORK_NAME)\n")
		} else {
			values["share_exists"] = true
			fmt.Fprintf(&ev, "share exists, access refused: %v\n", why)
		}
		return values, ev.String(), nil
	}
	values["share_exists"] = true
	sh = sh.WithContext(ctx)
	smbDir := dir
	if smbDir == "" {
		smbDir = "."
	}
	fi, err := sh.Stat(smbDir)
	switch {
	case err == nil && !fi.IsDir():
		fmt.Fprintf(&ev, "path is a file, not a directory\n")
		return values, ev.String(), nil
	case err == nil:
		values["path_exists"] = true
	case notFound(err):
		ev.WriteString("path does not exist\n")
		return values, ev.String(), nil
	case denied(err):
		values["path_exists"] = true // it is there, the user may not look at it
	default:
		return values, ev.String(), fmt.Errorf("stat %s: %w", dir, err)
	}
	for _, a := range p.actions() {
		var err error
		switch a {
		case ActionList:
			err = s.list(sh, smbDir, values, &ev)
		case ActionRead:
			err = s.read(sh, path.Join(dir, p.File), values, &ev)
		case ActionWrite:
			err = s.write(sh, dir, values, &ev)
		}
		if err != nil {
			return values, ev.String(), err
		}
	}
	return values, ev.String(), nil
}

func (s *session) list(sh *smb2.Share, dir string, values map[string]any, ev *strings.Builder) error {
	infos, err := sh.ReadDir(dir)
	if err != nil {
		if denied(err) {
			fmt.Fprintf(ev, "list: denied\n")
			return nil
		}
		return fmt.Errorf("list %s: %w", dir, err)
	}
	names := make([]string, 0, len(infos))
	for _, fi := range infos {
		n := fi.Name()
		if fi.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	entries := make([]any, len(names))
	for i, n := range names {
		entries[i] = n
	}
	values["can_list"] = true
	values["entries"] = entries
	shown := names
	if len(shown) > 50 {
		shown = append(shown[:50:50], fmt.Sprintf("... %d more", len(names)-50))
	}
	fmt.Fprintf(ev, "list: %d entries: %s\n", len(names), strings.Join(shown, "  "))
	return nil
}

func (s *session) read(sh *smb2.Share, name string, values map[string]any, ev *strings.Builder) error {
	f, err := sh.Open(name)
	if err == nil {
		defer f.Close()
		var data []byte
		data, err = io.ReadAll(io.LimitReader(f, maxContent))
		if err == nil {
			values["can_read"] = true
			values["content"] = string(data)
			fmt.Fprintf(ev, "read %s: %d bytes\n", name, len(data))
			return nil
		}
	}
	switch {
	case denied(err):
		fmt.Fprintf(ev, "read %s: denied\n", name)
		return nil
	case notFound(err):
		values["path_exists"] = false
		fmt.Fprintf(ev, "read %s: no such file\n", name)
		return nil
	}
	return fmt.Errorf("read %s: %w", name, err)
}

func (s *session) write(sh *smb2.Share, dir string, values map[string]any, ev *strings.Builder) error {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := path.Join(dir, ".tailab-probe-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := sh.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err == nil {
		_, err = f.Write([]byte("tailab write probe\r\n"))
		cerr := f.Close()
		if rerr := sh.Remove(name); rerr != nil {
			fmt.Fprintf(ev, "write: could not remove %s: %v\n", name, rerr)
		}
		if err == nil {
			err = cerr
		}
		if err == nil {
			values["can_write"] = true
			fmt.Fprintf(ev, "write: created, wrote and removed %s\n", name)
			return nil
		}
	}
	if denied(err) {
		fmt.Fprintf(ev, "write: denied\n")
		return nil
	}
	return fmt.Errorf("write %s: %w", name, err)
}
