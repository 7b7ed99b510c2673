package main

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/internal/errclass"
)

func newGatewayCommand(g *globalOptions) *cobra.Command {
	o := gateway.RunOptions{}
	c := &cobra.Command{
		Use:   "gateway --session NAME [--ssh-listen :2222] [--web-listen :8443] [--address HOST]",
		Short: "Serve the candidates' gateway into their own labs (SSH and browser), open during the exam window",
		Long:  "ssh -p 2222 c01@HOST (a menu), ssh -p 2222 c01+srv@HOST [CMD], https://HOST:8443/: see docs/access.md.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Session == "" {
				return errclass.Usagef("--session is required")
			}
			_, sess, err := exam.OpenSession(g.DataDir, o.Session)
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if g.Quiet {
				level = slog.LevelWarn
			}
			o.DataDir, o.Out, o.Statement = g.DataDir, cmd.ErrOrStderr(), exam.StatementPage(sess, g.Loc)
			o.Engine = g.engine
			o.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return gateway.Run(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringVar(&o.SSHListen, "ssh-listen", ":2222", "SSH side: address to listen on")
	f.StringVar(&o.WebListen, "web-listen", ":8443", "browser side (HTTPS): address to listen on, \"\" for none")
	f.StringVar(&o.ListenNetns, "listen-netns", "", "listen in this network namespace (e.g. /proc/PID/ns/net of a host shell), the machines' being the process's")
	f.StringVar(&o.Address, "address", "", "the gateway's address as candidates type it (printed on access sheets)")
	f.DurationVar(&o.Grace, "grace", time.Minute, "how long terminals stay open after the close, once warned")
	f.BoolVar(&o.RecordInput, "record-input", false, "also record what candidates type (off: typed passwords would be kept)")
	return c
}

// newSessionWindowCommands are `tailab session open|close`.
func newSessionWindowCommands(g *globalOptions) []*cobra.Command {
	var out []*cobra.Command
	for _, verb := range []string{"open", "close"} {
		var session, at string
		c := &cobra.Command{
			Use:   verb + " --session NAME [--at TIME]",
			Short: "Set when the exam window " + map[string]string{"open": "opens: candidates may log in to the gateway", "close": "closes: logins refused, terminals warned then closed"}[verb],
			Long:  "TIME is now (default), RFC 3339 (2026-06-12T14:00:00+02:00), a local time today (14:00), or an offset (+3h30m).",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return gateway.SetWindow(g.DataDir, session, verb, at, cmd.OutOrStdout())
			},
		}
		c.Flags().StringVarP(&session, "session", "s", "", "session name (required)")
		c.Flags().StringVar(&at, "at", "", "when (default now)")
		out = append(out, c)
	}
	return out
}
