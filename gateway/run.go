package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/provision"
)

// RunOptions are those of `tailab gateway`.
type RunOptions struct {
	DataDir, Session     string
	SSHListen, WebListen string // WebListen "" serves no browser side
	// ListenNetns is the network namespace the listeners are opened in (a
	// path such as /proc/PID/ns/net; "" the process's own): the gateway runs
	// where the machines are and answers where the candidates are.
	ListenNetns string
	// Address is how candidates reach the host, printed on the sheets
	// (default: the listen address, else the host name).
	Address     string
	Grace       time.Duration
	RecordInput bool
	Statement   func(candidate string) ([]byte, error)
	// Engine opens a provider (the session's, by name), which finds the VMs'
	// consoles (nil: no console tabs open).
	Engine func(provider string) (*provision.Engine, error)
	Log    *slog.Logger
	Out    io.Writer // where the endpoint is printed
}

// Run serves a session's gateway until ctx ends: it gives every candidate a
// login, listens on both sides, records the endpoint for the access sheets
// and prints it.
func Run(ctx context.Context, o RunOptions) error {
	st, err := provision.OpenState(o.DataDir)
	if err != nil {
		return err
	}
	sess, err := st.Session(o.Session)
	if err != nil {
		return errclass.Wrap(errclass.NotFound, err)
	}
	gs, err := store.Open(o.DataDir)
	if err != nil {
		return err
	}
	var ids []string
	for _, c := range sess.Candidates {
		ids = append(ids, c.ID)
	}
	if _, err := Passwords(gs, sess.Name, ids); err != nil {
		return err
	}
	cfg := Config{DataDir: o.DataDir, Session: sess.Name, Grace: o.Grace, Location: time.Local, Statement: o.Statement,
		RecordDir: filepath.Join(o.DataDir, "recordings", sess.Name), RecordInput: o.RecordInput, Log: o.Log}
	if o.Engine != nil {
		consoles := &EngineConsoles{Session: sess, Open: func() (*provision.Engine, error) { return o.Engine(sess.Provider) }}
		defer consoles.Close()
		cfg.Consoles = consoles
	}
	gw, err := New(cfg)
	if err != nil {
		return err
	}
	defer gw.Close()
	sshLn, err := listenIn(o.ListenNetns, o.SSHListen)
	if err != nil {
		return errclass.Wrap(errclass.Usage, fmt.Errorf("--ssh-listen: %w", err))
	}
	ep := Endpoint{Address: o.Address, SSHPort: sshLn.Addr().(*net.TCPAddr).Port, HostKey: gw.HostKey()}
	if ep.Address == "" {
		if ta := sshLn.Addr().(*net.TCPAddr); !ta.IP.IsUnspecified() {
			ep.Address = ta.IP.String()
		} else {
			ep.Address, _ = os.Hostname()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	if o.WebListen != "" {
		webLn, err := listenIn(o.ListenNetns, o.WebListen)
		if err != nil {
			return errclass.Wrap(errclass.Usage, fmt.Errorf("--web-listen: %w", err))
		}
		ep.WebPort = webLn.Addr().(*net.TCPAddr).Port
		if ep.CertSHA256, err = gw.ServeWeb(ctx, webLn, ep.Address, errs); err != nil {
			return err
		}
	}
	if err := SaveEndpoint(gs, sess.Name, ep); err != nil {
		return err
	}
	go func() { errs <- gw.ServeSSH(ctx, sshLn) }()
	w, err := LoadWindow(gs, sess.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "gateway for session %s: ssh -p %d CANDIDATE@%s (host key %s)\n", sess.Name, ep.SSHPort, ep.Address, ep.HostKey)
	if u := ep.URL(); u != "" {
		fmt.Fprintf(o.Out, "browser: %s (certificate SHA-256 %s)\n", u, ep.CertSHA256)
	}
	fmt.Fprintf(o.Out, "exam window: %s\n", w)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errs:
		return err
	}
}

// SetWindow opens or closes (verb) a session's exam window at the time at
// (as ParseAt reads it), audited, and prints the window to out.
func SetWindow(dataDir, session, verb, at string, out io.Writer) error {
	if session == "" {
		return errclass.Usagef("--session is required")
	}
	w, err := setWindow(dataDir, session, verb, at)
	if err == nil {
		fmt.Fprintf(out, "session %s: exam window %s\n", session, w)
	}
	return err
}

func setWindow(dataDir, session, verb, at string) (Window, error) {
	t, err := ParseAt(at, time.Now())
	if err != nil {
		return Window{}, errclass.Usagef("--at: %v", err)
	}
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return Window{}, err
	}
	if _, err := st.Session(session); err != nil {
		return Window{}, errclass.Wrap(errclass.NotFound, err)
	}
	gs, err := store.Open(dataDir)
	if err != nil {
		return Window{}, err
	}
	if err := st.Audit(session, provision.AuditEntry{Action: "session", Facts: &audit.Facts{Outcome: map[string]string{"open": audit.Opened, "close": audit.Closed}[verb], At: t.UTC()}}); err != nil {
		return Window{}, err
	}
	do := OpenWindow
	if verb == "close" {
		do = CloseWindow
	}
	w, err := do(gs, session, t)
	return w, errclass.Wrap(errclass.Usage, err)
}

// RotateAudited gives each candidate a new password, audited as a reveal,
// and writes "CANDIDATE<TAB>PASSWORD" lines to w.
func RotateAudited(dataDir string, st *provision.State, session string, candidates []string, w io.Writer) error {
	if len(candidates) == 0 {
		return errclass.Usagef("--rotate needs --candidate (whose password to change)")
	}
	gs, err := store.Open(dataDir)
	if err != nil {
		return err
	}
	for _, c := range candidates {
		if err := st.Audit(session, provision.AuditEntry{Action: "access", Candidate: c, Detail: "gateway password rotated and shown"}); err != nil {
			return err
		}
		pw, err := Rotate(gs, session, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\n", c, pw.Reveal())
	}
	return nil
}
