package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/templates/access"
)

type accessOptions struct {
	session    string
	candidates []string
	output     string
	show       bool
	out        string
	sheet      bool
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
	f.StringSliceVar(&o.candidates, "candidate", nil, "only these candidates")
	f.StringVarP(&o.output, "output", "o", "table", "table, json or html (the access sheets)")
	f.BoolVar(&o.show, "show-passwords", false, "show console passwords in the table or JSON")
	f.StringVar(&o.out, "out", "", "write .vv files (and sheets with --sheet) into this directory")
	f.BoolVar(&o.sheet, "sheet", false, "write the printable access sheets (French, HTML)")
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
	st, err := provision.OpenState(g.DataDir)
	if err != nil {
		return err
	}
	sess, err := st.Session(o.session)
	if err != nil {
		return errclass.Wrap(errclass.NotFound, err)
	}
	for _, c := range o.candidates {
		if _, ok := sess.Candidate(c); !ok {
			return errclass.NotFoundf("session %q has no candidate %q", o.session, c)
		}
	}
	eng, err := g.engine(sess.Provider)
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	list, err := eng.Access(cmd.Context(), sess, o.candidates)
	if err != nil {
		if errors.Is(err, provision.ErrUnsupported) {
			return errclass.Wrap(errclass.Usage, err)
		}
		return err
	}
	var revealed []string
	if o.out != "" {
		n, err := writeVirtViewerFiles(o.out, list)
		if err != nil {
			return err
		}
		if n > 0 {
			revealed = append(revealed, fmt.Sprintf("%d .vv file(s) in %s", n, o.out))
		}
		if !g.Quiet {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d virt-viewer file(s) written to %s\n", n, o.out)
		}
	}
	if o.show && !o.sheet {
		revealed = append(revealed, "passwords shown ("+o.output+")")
	}
	if o.sheet {
		where := "standard output"
		if o.out != "" {
			where = o.out
		}
		revealed = append(revealed, "access sheets to "+where)
	}
	if len(revealed) > 0 {
		detail := strings.Join(revealed, "; ")
		if len(o.candidates) > 0 {
			detail += " for " + strings.Join(o.candidates, ",")
		}
		if err := st.Audit(sess.Name, provision.AuditEntry{Action: "access", Detail: detail}); err != nil {
			return err
		}
	}
	if o.sheet {
		return o.writeSheets(cmd, g, sess, list)
	}
	if o.output == "json" {
		for i := range list {
			if c := list[i].Console; c != nil && o.show {
				c.Shown = c.Password.Reveal()
			}
		}
		return writeJSON(cmd.OutOrStdout(), list)
	}
	return renderAccess(cmd.OutOrStdout(), list, o.show)
}

func renderAccess(w io.Writer, list []provision.MachineAccess, show bool) error {
	t := newTable(w, "CANDIDATE", "MACHINE", "KIND", "STATE", "CONSOLE", "PASSWORD", "LOGIN (LAB)", "ADMIN (MGMT)")
	for _, a := range list {
		console, pw := "-", "-"
		if c := a.Console; c != nil {
			console = c.Type + "://" + c.Address()
			if c.Port == 0 {
				console = c.Type + " (not running)"
			}
			pw = "********"
			if show {
				pw = c.Password.Reveal()
			}
		}
		var lab, mgmt []string
		for _, e := range a.Endpoints {
			s := e.Proto + " " + e.Address
			if e.User != "" {
				s = e.Proto + " " + e.User + "@" + e.Address
			}
			if e.Network == "mgmt" {
				mgmt = append(mgmt, s)
			} else {
				lab = append(lab, s)
			}
		}
		t.row(a.Candidate, a.Machine, a.Kind, a.State, console, pw, dashIfEmpty(strings.Join(lab, ", ")), dashIfEmpty(strings.Join(mgmt, ", ")))
	}
	return t.flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeVirtViewerFiles writes DIR/CANDIDATE/MACHINE.vv for every console with
// a port, mode 0600.
func writeVirtViewerFiles(dir string, list []provision.MachineAccess) (int, error) {
	n := 0
	for _, a := range list {
		c := a.Console
		if c == nil || c.Port == 0 {
			continue
		}
		d := filepath.Join(dir, a.Candidate)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return n, err
		}
		title := fmt.Sprintf("%s — %s — %s", a.Session, a.Candidate, a.Machine)
		if err := os.WriteFile(filepath.Join(d, a.Machine+".vv"), c.VirtViewerFile(title), 0o600); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// accessSheets groups the access list into one sheet per candidate.
func accessSheets(sess *provision.Session, list []provision.MachineAccess, now time.Time) []access.Sheet {
	by := map[string]*access.Sheet{}
	var order []string
	for _, a := range list {
		s, ok := by[a.Candidate]
		if !ok {
			c, _ := sess.Candidate(a.Candidate)
			s = &access.Sheet{Session: sess.Name, Lab: sess.Lab, Candidate: a.Candidate, Name: c.FullName(), Generated: now}
			by[a.Candidate] = s
			order = append(order, a.Candidate)
		}
		m := access.Machine{Name: a.Machine, Kind: a.Kind, OS: a.OS, Role: a.Role}
		for _, n := range slices.Sorted(maps.Keys(a.Addresses)) {
			m.Addresses = append(m.Addresses, access.Address{Network: n, Address: a.Addresses[n]})
		}
		if c := a.Console; c != nil {
			m.Console = &access.Console{Type: c.Type, Host: c.Host, Port: c.Port, Password: c.Password.Reveal()}
		}
		for _, e := range a.Endpoints {
			if e.Network != "mgmt" && e.Proto != "winrm" {
				m.Logins = append(m.Logins, access.Login{Proto: e.Proto, Address: e.Address, Port: e.Port, User: e.User})
			}
		}
		s.Machines = append(s.Machines, m)
	}
	sort.Strings(order)
	out := make([]access.Sheet, 0, len(order))
	for _, c := range order {
		out = append(out, *by[c])
	}
	return out
}

func (o *accessOptions) writeSheets(cmd *cobra.Command, g *globalOptions, sess *provision.Session, list []provision.MachineAccess) error {
	all := accessSheets(sess, list, time.Now())
	if len(all) == 0 {
		return errclass.Usagef("no machine to put on a sheet")
	}
	if o.out == "" {
		return access.Render(cmd.OutOrStdout(), all)
	}
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return err
	}
	for _, s := range all {
		path := filepath.Join(o.out, s.Candidate+".html")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		err = access.Render(f, []access.Sheet{s})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if !g.Quiet {
			fmt.Fprintln(cmd.ErrOrStderr(), "access sheet:", path)
		}
	}
	return nil
}
