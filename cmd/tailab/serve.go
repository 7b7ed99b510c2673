package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
	"github.com/tailab/tailab/web"
)

// serveTokenEnv names the environment variable holding the dashboard's token.
const serveTokenEnv = "TAILAB_SERVE_TOKEN"

// serveOptions are the options of `tailab serve`.
type serveOptions struct {
	g         *globalOptions
	Session   string
	Listen    string
	TokenFile string
	Poll      time.Duration
}

func newServeCommand(g *globalOptions) *cobra.Command {
	o := &serveOptions{g: g}
	c := &cobra.Command{
		Use:   "serve --session NAME [--listen 127.0.0.1:8080]",
		Short: "Serve a web dashboard of a session's results, with the jury's form",
		Long: `serve shows a session's grading in a browser: the grid of candidates ×
competences coloured by score, following new results as ` + "`grade --watch`" + ` stores
them, and for each candidate, competence and check the verdicts, evidence and
history (when a check turned green), and the jury's form (marks and
corrections, as tailab jury set|override: audited). Rendered on the server, no
external resource: it works offline.

On anything but a loopback address it needs a token (at least 16 characters),
from the environment (` + serveTokenEnv + `) or a file (--token-file); it never
takes one on the command line. Browsers then ask for it as the password (any
user name), or open the URL once with ?token=TOKEN. The dashboard speaks plain
HTTP: beyond a trusted network, put it behind a TLS proxy or an SSH tunnel.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "address to listen on (HOST:PORT); not loopback needs a token")
	f.StringVar(&o.TokenFile, "token-file", "", "file holding the access token (default: env "+serveTokenEnv+")")
	f.DurationVar(&o.Poll, "poll", web.DefaultPoll, "how often to look for new results")
	return c
}

// token reads the token from --token-file or the environment.
func (o *serveOptions) token() (secret.Value, error) {
	if o.TokenFile != "" {
		data, err := userfile.Read(o.TokenFile)
		if err != nil {
			return secret.Value{}, fmt.Errorf("token file: %w", err)
		}
		t := strings.TrimSpace(string(data))
		if t == "" {
			return secret.Value{}, fmt.Errorf("token file %s is empty", o.TokenFile)
		}
		return secret.New(t), nil
	}
	return secret.New(strings.TrimSpace(os.Getenv(serveTokenEnv))), nil
}

// Run serves the dashboard until Ctrl-C.
func (o *serveOptions) Run(cmd *cobra.Command) error {
	if o.Session == "" {
		return errclass.Usagef("--session is required")
	}
	if o.Poll < 100*time.Millisecond {
		return errclass.Usagef("--poll must be at least 100ms, not %s", o.Poll)
	}
	tok, err := o.token()
	if err != nil {
		return errclass.Wrap(errclass.Usage, err)
	}
	if !tok.IsZero() && len(tok.Reveal()) < web.MinTokenLength {
		return errclass.Usagef("the token must be at least %d characters", web.MinTokenLength)
	}
	if err := web.CheckListen(o.Listen, !tok.IsZero()); err != nil {
		return errclass.Wrap(errclass.Usage, err)
	}
	st, err := provision.OpenState(o.g.DataDir)
	if err != nil {
		return err
	}
	rs, err := results.Open(o.g.DataDir)
	if err != nil {
		return err
	}
	srv, err := web.New(web.Config{
		State: st, Results: rs, Session: o.Session, Token: tok, Poll: o.Poll,
		Location: o.g.Loc, Log: cmd.ErrOrStderr(),
		Jury: func(e results.JuryEntry) error { return exam.SetJury(o.g.DataDir, o.Session, e) },
	})
	if err != nil {
		return errclass.Wrap(errclass.Usage, err)
	}
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + l.Addr().String() + "/"
	msg := fmt.Sprintf("dashboard of session %s on %s (Ctrl-C to stop)", o.Session, url)
	if !tok.IsZero() {
		msg += "; token required: password of the browser's login prompt, or open " + url + "?token=…"
	}
	fmt.Fprintln(cmd.ErrOrStderr(), msg)
	if err := srv.Serve(cmd.Context(), l); err != nil {
		return err
	}
	return nil
}
