package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

type accessOptions struct {
	session    string
	candidates []string
	output     string
	show       bool
	out        string
	sheet      bool
	rotate     bool
}

func newAccessCommand(g *globalOptions) *cobra.Command {
	o := &accessOptions{}
	c := &cobra.Command{
		Use:   "access --session NAME [--candidate ID]... [-o table|json|html] [--show-passwords] [--out DIR] [--sheet]",
		Short: "How to reach each candidate machine: console address, port and password, SSH/RDP addresses",
		Long: `access lists, per candidate and machine, how to reach it: the VM's VNC console
(address, the port libvirt gave it, and the candidate's console password, shown
only with --show-passwords), and the SSH/WinRM/RDP services on its lab addresses
and on its management address (the admin's way in, with the session's keys).

--out DIR writes a virt-viewer file DIR/CANDIDATE/MACHINE.vv per running VM
(mode 0600: it holds the password; open it with remote-viewer).
--sheet (or -o html) writes the printable French access sheet, one page per
candidate, with their console passwords: to DIR/CANDIDATE.html with --out, else
to standard output. Revealing passwords is written to the audit log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, g) },
	}
	f := c.Flags()
	f.StringVarP(&o.session, "session", "s", "", "session name (required)")
	f.StringSliceVarP(&o.candidates, "candidate", "c", nil, "only these candidates (repeat -c, or c01,c02)")
	f.StringVarP(&o.output, "output", "o", "table", "table, json or html (the access sheets)")
	f.BoolVar(&o.show, "show-passwords", false, "show console passwords in the table or JSON")
	f.StringVar(&o.out, "out", "", "write .vv files (and sheets with --sheet) into this directory")
	f.BoolVar(&o.sheet, "sheet", false, "write the printable access sheets (French, HTML)")
	f.BoolVar(&o.rotate, "rotate", false, "give the --candidate(s) a new gateway password (prints it)")
	return c
}

func (o *accessOptions) run(cmd *cobra.Command, g *globalOptions) error {
	if err := validOutput(o.output, "table", "json", "html"); err != nil {
		return err
	}
	if o.session == "" {
		return errclass.Usagef("--session is required")
	}
	if o.output == "html" {
		o.sheet = true
	}
	st, sess, err := exam.OpenSession(g.DataDir, o.session, o.candidates...)
	if err != nil {
		return err
	}
	if o.rotate {
		return gateway.RotateAudited(g.DataDir, st, sess.Name, o.candidates, cmd.OutOrStdout())
	}
	eng, err := g.engine(sess.Provider)
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	list, err := eng.Access(cmd.Context(), sess, o.candidates)
	if err != nil {
		return err
	}
	nvv := 0
	if o.out != "" {
		if nvv, err = exam.WriteVirtViewerFiles(o.out, list); err != nil {
			return err
		}
		if !g.Quiet {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d virt-viewer file(s) written to %s\n", nvv, o.out)
		}
	}
	if detail := (exam.AccessReveal{Out: o.out, VV: nvv, Show: o.show, Sheet: o.sheet, Output: o.output, Candidates: o.candidates}).Detail(); detail != "" {
		if err := st.Audit(sess.Name, provision.AuditEntry{Action: "access", Detail: detail}); err != nil {
			return err
		}
	}
	gw, err := gateway.LoginsFor(g.DataDir, sess.Name, list)
	if err != nil {
		return err
	}
	if o.sheet {
		return o.writeSheets(cmd, g, sess, list, gw)
	}
	if o.output == "json" {
		for i := range list {
			if c := list[i].Console; c != nil && o.show {
				c.Shown = c.Password.Reveal()
			}
		}
		return writeJSON(cmd.OutOrStdout(), gw.Rows(list, o.show))
	}
	return exam.AccessTable(cmd.OutOrStdout(), list, o.show)
}

func (o *accessOptions) writeSheets(cmd *cobra.Command, g *globalOptions, sess *provision.Session, list []provision.MachineAccess, gw *gateway.Logins) error {
	all := exam.AccessSheets(sess, list, time.Now())
	for i := range all {
		all[i].Gateway = gw.Sheet(all[i].Candidate)
	}
	return exam.WriteAccessSheets(cmd.OutOrStdout(), o.out, all, func(path string) {
		if !g.Quiet {
			fmt.Fprintln(cmd.ErrOrStderr(), "access sheet:", path)
		}
	})
}
