package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/provision"
)

func init() { commands = append(commands, newGatewayCommand) }

// gatewayOptions are the options of `tailab gateway`.
type gatewayOptions struct {
	g           *globalOptions
	Session     string
	SSHListen   string
	WebListen   string
	Address     string
	Grace       time.Duration
	RecordInput bool
}

func newGatewayCommand(g *globalOptions) *cobra.Command {
	o := &gatewayOptions{g: g}
	c := &cobra.Command{
		Use:   "gateway --session NAME [--ssh-listen :2222] [--web-listen :8443] [--address HOST]",
		Short: "Serve the candidates' gateway into their own labs (SSH and browser), open during the exam window",
		Long: `gateway is the candidates' only door into their labs on exam day. A candidate
logs in with their id and the password of their access sheet:

  ssh -p 2222 c01@HOST          a menu of the candidate's machines (French)
  ssh -p 2222 c01+srv@HOST CMD  straight to machine srv (scp and sftp too)
  ssh -J c01@HOST:2222 ...      only to the lab ports the lab's access: declares
  https://HOST:8443/            statement, topology, countdown, one terminal per machine

Logins are refused outside the exam window (tailab session open|close); at the
close, live terminals are warned then closed after --grace. Every login
attempt, terminal and forward is written to the session's audit log; every
terminal is recorded (asciicast v2, DATA_DIR/recordings/SESSION/CANDIDATE/).
The gateway reaches the machines over the management path with the machines'
own credentials, which never leave it. It opens no shell in a container whose
root is root on the host.

--address is the host's address on the exam-room network, printed on the
access sheets (default: the listen address, else the host name).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringVar(&o.SSHListen, "ssh-listen", ":2222", "SSH side: address to listen on")
	f.StringVar(&o.WebListen, "web-listen", ":8443", "browser side (HTTPS): address to listen on, \"\" for none")
	f.StringVar(&o.Address, "address", "", "the gateway's address as candidates type it (printed on access sheets)")
	f.DurationVar(&o.Grace, "grace", time.Minute, "how long terminals stay open after the close, once warned")
	f.BoolVar(&o.RecordInput, "record-input", false, "also record what candidates type (off: typed passwords would be kept)")
	return c
}

// Run starts the gateway and serves until interrupted.
func (o *gatewayOptions) Run(cmd *cobra.Command) error {
	if o.Session == "" {
		return withCode(ExitUsage, errors.New("--session is required"))
	}
	st, err := provision.OpenState(o.g.DataDir)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	sess, err := st.Session(o.Session)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	gs, err := store.Open(o.g.DataDir)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	ids := make([]string, 0, len(sess.Candidates))
	for _, c := range sess.Candidates {
		ids = append(ids, c.ID)
	}
	if _, err := gateway.Passwords(gs, sess.Name, ids); err != nil { // every candidate has a login
		return withCode(ExitInfra, err)
	}
	level := slog.LevelInfo
	if o.g.Quiet {
		level = slog.LevelWarn
	}
	gw, err := gateway.New(gateway.Config{
		DataDir: o.g.DataDir, Session: sess.Name, Grace: o.Grace, Location: time.Local,
		RecordDir: filepath.Join(o.g.DataDir, "recordings", sess.Name), RecordInput: o.RecordInput,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return withCode(ExitInfra, err)
	}
	defer gw.Close()
	sshLn, err := net.Listen("tcp", o.SSHListen)
	if err != nil {
		return withCode(ExitInfra, fmt.Errorf("--ssh-listen: %w", err))
	}
	ep := gateway.Endpoint{Address: o.address(sshLn.Addr()), SSHPort: sshLn.Addr().(*net.TCPAddr).Port, HostKey: gw.HostKey()}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	errs := make(chan error, 2)
	if o.WebListen != "" {
		webLn, err := net.Listen("tcp", o.WebListen)
		if err != nil {
			return withCode(ExitInfra, fmt.Errorf("--web-listen: %w", err))
		}
		ep.WebPort = webLn.Addr().(*net.TCPAddr).Port
		sum, err := gw.ServeWeb(ctx, webLn, ep.Address, errs)
		if err != nil {
			return withCode(ExitInfra, err)
		}
		ep.CertSHA256 = sum
	}
	if err := gateway.SaveEndpoint(gs, sess.Name, ep); err != nil {
		return withCode(ExitInfra, err)
	}
	go func() { errs <- gw.ServeSSH(ctx, sshLn) }()
	w, err := gateway.LoadWindow(gs, sess.Name)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	out := cmd.ErrOrStderr()
	fmt.Fprintf(out, "gateway for session %s: ssh -p %d CANDIDATE@%s (host key %s)\n", sess.Name, ep.SSHPort, ep.Address, ep.HostKey)
	if u := ep.URL(); u != "" {
		fmt.Fprintf(out, "browser: %s (certificate SHA-256 %s)\n", u, ep.CertSHA256)
	}
	fmt.Fprintf(out, "exam window: %s\n", windowText(w))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errs:
		if err != nil {
			return withCode(ExitInfra, err)
		}
		return nil
	}
}

// address is the gateway's address for the sheets: --address, else the
// listen address when it names one, else the host name.
func (o *gatewayOptions) address(a net.Addr) string {
	if o.Address != "" {
		return o.Address
	}
	if ta, ok := a.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		return ta.IP.String()
	}
	h, _ := os.Hostname()
	return h
}

func windowText(w gateway.Window) string {
	var parts []string
	switch {
	case w.Opens.IsZero():
		parts = append(parts, "not opened (tailab session open)")
	default:
		parts = append(parts, "opens "+w.Opens.Local().Format("2006-01-02 15:04:05"))
	}
	if !w.Closes.IsZero() {
		parts = append(parts, "closes "+w.Closes.Local().Format("2006-01-02 15:04:05"))
	}
	return strings.Join(parts, ", ")
}

// newSessionWindowCommands are `tailab session open|close`.
func newSessionWindowCommands(g *globalOptions) []*cobra.Command {
	verb := func(name, short string, do func(*store.Store, string, time.Time) (gateway.Window, error)) *cobra.Command {
		var session, at string
		c := &cobra.Command{
			Use:   name + " --session NAME [--at TIME]",
			Short: short,
			Long: short + `. TIME is now (default), an RFC 3339 time
(2026-06-12T14:00:00+02:00), a local time today (14:00), or an offset (+3h30m).`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if session == "" {
					return withCode(ExitUsage, errors.New("--session is required"))
				}
				t, err := parseAt(at, time.Now())
				if err != nil {
					return withCode(ExitUsage, fmt.Errorf("--at: %w", err))
				}
				st, err := provision.OpenState(g.DataDir)
				if err != nil {
					return withCode(ExitInfra, err)
				}
				if _, err := st.Session(session); err != nil {
					return withCode(ExitUsage, err)
				}
				gs, err := store.Open(g.DataDir)
				if err != nil {
					return withCode(ExitInfra, err)
				}
				if err := st.Audit(session, provision.AuditEntry{Action: "session", Detail: name + " at " + t.UTC().Format(time.RFC3339)}); err != nil {
					return withCode(ExitInfra, err)
				}
				w, err := do(gs, session, t)
				if err != nil {
					return withCode(ExitUsage, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "session %s: exam window %s\n", session, windowText(w))
				return nil
			},
		}
		c.Flags().StringVarP(&session, "session", "s", "", "session name (required)")
		c.Flags().StringVar(&at, "at", "", "when (default now)")
		return c
	}
	return []*cobra.Command{
		verb("open", "Open the exam window: candidates may log in to the gateway", gateway.OpenWindow),
		verb("close", "Close the exam window: logins refused, live terminals warned then closed", gateway.CloseWindow),
	}
}

// parseAt reads --at: "" (now), RFC 3339, HH:MM[:SS] today (local), or +DURATION.
func parseAt(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			y, m, d := now.In(time.Local).Date()
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, time.Local), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want now, 2026-06-12T14:00:00+02:00, 14:00 or +3h)", s)
}

// gatewayAccess is a candidate's gateway login in `tailab access -o json`.
type gatewayAccess struct {
	Login    string `json:"login"`
	Password string `json:"password,omitempty"` // with --show-passwords only
	SSH      string `json:"ssh,omitempty"`
	URL      string `json:"url,omitempty"`
	CertSHA  string `json:"cert_sha256,omitempty"`
}

var _ = strconv.Itoa
