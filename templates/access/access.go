// Package access renders the printable access sheet handed to each candidate at
// the start of the exam (in French): their machines, addresses, how to open
// each console and its password. One A4 page per candidate.
package access

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed sheet.html
var sheetHTML string

var sheetTmpl = template.Must(template.New("sheet.html").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("02/01/2006 à 15:04") },
	"kind": func(k string) string {
		switch k {
		case "vm":
			return "machine virtuelle"
		case "container":
			return "conteneur"
		}
		return k
	},
}).Parse(sheetHTML))

// Sheet is one candidate's access sheet.
type Sheet struct {
	Session   string
	Lab       string
	Candidate string // id
	Name      string // first and last name, when the roster has them
	Generated time.Time
	Machines  []Machine
	Gateway   *Gateway // how to log in to the exam gateway (tailab gateway)
}

// HasConsole reports whether a machine of the sheet has a VNC console (the
// note on opening consoles appears only then).
func (s Sheet) HasConsole() bool {
	for _, m := range s.Machines {
		if m.Console != nil {
			return true
		}
	}
	return false
}

// Gateway is a candidate's way in through the exam gateway.
type Gateway struct {
	Address    string // "" when the gateway has not run yet: a line to fill in
	SSHPort    int
	URL        string
	CertSHA256 string
	HostKey    string
	Login      string
	Password   string
}

// Machine is one machine of a candidate's lab.
type Machine struct {
	Name      string
	Kind      string // vm | container
	OS        string
	Role      string
	Addresses []Address // on the lab networks
	Console   *Console  // VMs
	Logins    []Login   // services reachable from the lab networks
}

// Address is a machine's address on one lab network.
type Address struct {
	Network string
	Address string
}

// Console is how to open a machine's graphical console.
type Console struct {
	Type     string // vnc
	Host     string
	Port     int    // 0: not running when the sheet was printed
	Password string // "" prints a line to fill in by hand
}

// URL is what remote-viewer opens (vnc://host:port).
func (c Console) URL() string {
	if c.Port == 0 {
		return ""
	}
	h := c.Host
	for _, r := range h {
		if r == ':' {
			h = "[" + h + "]"
			break
		}
	}
	return fmt.Sprintf("%s://%s:%d", c.Type, h, c.Port)
}

// Login is a service a candidate logs in to from another lab machine.
type Login struct {
	Proto   string
	Address string
	Port    int
	User    string
}

// Render writes one HTML document holding every sheet, one per page.
func Render(w io.Writer, sheets []Sheet) error {
	if err := sheetTmpl.Execute(w, sheets); err != nil {
		return fmt.Errorf("access sheet: %w", err)
	}
	return nil
}
