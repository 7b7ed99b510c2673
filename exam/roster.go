package exam

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// IsRosterFile tells a roster by its name: spreadsheets export .csv (or
// .tsv, .txt); labs and suites are YAML.
func IsRosterFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt":
		return true
	}
	return false
}

// ValidateRoster reads a roster as up does and lists the candidates read, in
// the roster's order and written as every paper writes them; the reader's
// warnings (an encoding converted, a column ignored) come first. Its error is
// the roster's refusals (French, file:line), or the file's.
func ValidateRoster(out io.Writer, path string) error {
	data, err := userfile.Read(path)
	if err != nil {
		return err
	}
	r, err := provision.ReadRoster(path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok (roster, %d candidates, %s)\n%s", path, len(r.Candidates), r.Encoding, Warnings(r.Warnings))
	return PrintRoster(out, r.Candidates)
}

// Warnings are the roster reader's warnings (French) as lines to print.
func Warnings(ws []string) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString("attention : " + w + "\n")
	}
	return b.String()
}

// PrintRoster lists candidates: id, name (NOM Prénom), seat.
func PrintRoster(out io.Writer, cands []labs.Candidate) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tNAME\tSEAT")
	for _, c := range cands {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.ID, c.FullName(), c.Seat)
	}
	return tw.Flush()
}

// PrintDraws is the roster of `up --dry-run`: PrintRoster, with what each
// candidate draws (the same draw up makes, seat by seat): the faults when the
// session's lab has faults, and the picked parameters (name=value, a distinct
// one marked *: it differs from the neighbours').
func PrintDraws(out io.Writer, sess *provision.Session) error {
	lab, err := sess.LoadLab()
	if err != nil {
		return errclass.Wrap(errclass.BadInput, err)
	}
	faults, params := len(lab.Faults) > 0, false
	for _, p := range lab.Parameters {
		params = params || p.Value == nil && len(p.Pick) > 0
	}
	if !faults && !params {
		return PrintRoster(out, sess.Candidates)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	head := "  ID\tNAME\tSEAT"
	if faults {
		head += "\tFAULTS"
	}
	if params {
		head += "\tPARAMETERS (* distinct)"
	}
	fmt.Fprintln(tw, head)
	for _, c := range sess.Candidates {
		line := fmt.Sprintf("  %s\t%s\t%s", c.ID, c.FullName(), c.Seat)
		if faults {
			line += "\t" + FaultNames(lab.FaultsFor(sess.Name, c))
		}
		if params {
			line += "\t" + strings.Join(lab.PickedParams(sess.Name, c), " ")
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// ReadRosterFile reads a roster for up or inventory init: the candidates,
// or a usage error (the file) or bad input (its content).
func ReadRosterFile(path string) (*provision.Roster, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, errclass.Wrap(errclass.Usage, err)
	}
	r, err := provision.ReadRoster(path, bytes.NewReader(data))
	if err != nil {
		return nil, errclass.Wrap(errclass.BadInput, err)
	}
	return r, nil
}
