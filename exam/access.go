package exam

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/templates/access"
)

// WriteVirtViewerFiles writes DIR/CANDIDATE/MACHINE.vv for every console with
// a port, mode 0600.
func WriteVirtViewerFiles(dir string, list []provision.MachineAccess) (int, error) {
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

// AccessSheets groups the access list into one sheet per candidate (the
// printable page with their logins and console passwords).
func AccessSheets(sess *provision.Session, list []provision.MachineAccess, now time.Time) []access.Sheet {
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

// AccessTable writes the access list as a table; console passwords only with
// show.
func AccessTable(w io.Writer, list []provision.MachineAccess, show bool) error {
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
		t.row(a.Candidate, a.Machine, a.Kind, a.State, console, pw, orDash(lab), orDash(mgmt))
	}
	return t.flush()
}

// AccessReveal is what one `tailab access` run shows of the passwords.
type AccessReveal struct {
	Out        string // --out: where .vv files and sheets go
	VV         int    // .vv files written
	Show       bool   // --show-passwords
	Sheet      bool   // the access sheets
	Output     string // -o
	Candidates []string
}

// Detail says what the run shows, for the audit log ("" when nothing).
func (r AccessReveal) Detail() string {
	var what []string
	if r.VV > 0 {
		what = append(what, fmt.Sprintf("%d .vv file(s) in %s", r.VV, r.Out))
	}
	if r.Show && !r.Sheet {
		what = append(what, "passwords shown ("+r.Output+")")
	}
	if r.Sheet {
		where := "standard output"
		if r.Out != "" {
			where = r.Out
		}
		what = append(what, "access sheets to "+where)
	}
	if len(what) == 0 {
		return ""
	}
	detail := strings.Join(what, "; ")
	if len(r.Candidates) > 0 {
		detail += " for " + strings.Join(r.Candidates, ",")
	}
	return detail
}

// WriteAccessSheets renders the sheets: all to w when dir is "", else one
// DIR/CANDIDATE.html each (0600: they hold passwords), each path passed to
// written.
func WriteAccessSheets(w io.Writer, dir string, all []access.Sheet, written func(path string)) error {
	if len(all) == 0 {
		return errclass.Usagef("no machine to put on a sheet")
	}
	if dir == "" {
		return access.Render(w, all)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, s := range all {
		path := filepath.Join(dir, s.Candidate+".html")
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
		written(path)
	}
	return nil
}

// StatementPage renders a candidate's statement as the gateway shows it
// (nil when the lab has none).
func StatementPage(sess *provision.Session, loc *time.Location) func(string) ([]byte, error) {
	if _, err := Sheets(sess, nil, true, loc); err != nil || len(sess.Candidates) == 0 {
		return nil
	}
	return func(candidate string) ([]byte, error) {
		all, err := Sheets(sess, []string{candidate}, true, loc)
		if err != nil {
			return nil, err
		}
		return all[0].Body, nil
	}
}
