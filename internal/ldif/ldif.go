// Package ldif parses LDIF change records (RFC 2849): what a fault or solution
// step over the ldap transport applies to a directory.
//
//	version: 1                       # optional, first
//	# a comment
//	dn: OU=Paris,DC=lab,DC=local
//	changetype: add
//	objectClass: organizationalUnit
//	description: Agence de Paris
//
//	dn: CN=alice,OU=Paris,DC=lab,DC=local
//	changetype: modify
//	replace: description
//	description: Comptable
//	-
//	delete: telephoneNumber
//	-
//
//	dn: CN=bob,OU=Paris,DC=lab,DC=local
//	changetype: modrdn
//	newrdn: CN=robert
//	deleteoldrdn: 1
//	newsuperior: OU=Lyon,DC=lab,DC=local
//
//	dn: CN=robert,OU=Lyon,DC=lab,DC=local
//	changetype: delete
//
// Records are separated by blank lines (lines of only spaces count as blank); a
// line starting with one space continues the previous one (folding); lines
// starting with '#' are comments. Values are "attr: text" (UTF-8 accepted, as
// ldapmodify does, though RFC 2849 asks for base64 beyond ASCII), "attr::
// base64" or, refused here, "attr:< URL". changetype is add, delete, modify
// (add, delete, replace and RFC 4525's increment, each ended by a "-" line; the
// last "-" of a record may be left out) or modrdn (moddn is read as modrdn).
// "control: OID [true|false] [: value | :: base64]" lines may follow the dn.
// Content records (no changetype) are refused: a step says what it changes.
//
// Errors name the line (1-based, in the text given to Parse) and, once the dn
// is read, the record's dn.
package ldif

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// Change types.
const (
	Add    = "add"
	Delete = "delete"
	Modify = "modify"
	ModRDN = "modrdn"
)

// Modification operations of a modify record.
const (
	OpAdd       = "add"
	OpDelete    = "delete"
	OpReplace   = "replace"
	OpIncrement = "increment"
)

// Record is one change record.
type Record struct {
	// Line is the line of the record's dn.
	Line int
	DN   string
	// ChangeType is Add, Delete, Modify or ModRDN.
	ChangeType string
	Controls   []Control
	// Attributes are an add record's, in order of first appearance.
	Attributes []Attribute
	// Changes are a modify record's, in order.
	Changes []Change
	// NewRDN, DeleteOldRDN and NewSuperior are a modrdn record's.
	NewRDN       string
	DeleteOldRDN bool
	NewSuperior  string
}

// Attribute is an attribute type (with its options, e.g. "description;lang-fr")
// and its values.
type Attribute struct {
	Type   string
	Values []string
}

// Change is one modification of a modify record.
type Change struct {
	// Op is OpAdd, OpDelete, OpReplace or OpIncrement.
	Op string
	Attribute
	// Line is the line of the "op: attribute" line.
	Line int
}

// Control is a request control sent with the record's operation.
type Control struct {
	OID      string
	Critical bool
	Value    string
	HasValue bool
}

// Error is a syntax error at a line.
type Error struct {
	Line int
	DN   string // the record's dn, once read
	Msg  string
}

func (e *Error) Error() string {
	if e.DN != "" {
		return fmt.Sprintf("line %d (record %s): %s", e.Line, e.DN, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// line is a logical line: folded lines joined, with the number of its first
// physical line.
type line struct {
	n    int
	text string
}

// Parse reads LDIF change records.
func Parse(text string) ([]Record, error) {
	blocks, err := split(text)
	if err != nil {
		return nil, err
	}
	if len(blocks) > 0 {
		if first := blocks[0][0]; strings.HasPrefix(strings.ToLower(first.text), "version:") {
			if v := strings.TrimSpace(first.text[len("version:"):]); v != "1" {
				return nil, &Error{Line: first.n, Msg: fmt.Sprintf("unsupported LDIF version %q (only 1)", v)}
			}
			blocks[0] = blocks[0][1:]
			if len(blocks[0]) == 0 {
				blocks = blocks[1:]
			}
		}
	}
	if len(blocks) == 0 {
		return nil, &Error{Line: 1, Msg: "no change record"}
	}
	recs := make([]Record, 0, len(blocks))
	for _, b := range blocks {
		r, err := parseRecord(b)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// split unfolds the text into logical lines, drops comments and groups the
// lines into blocks separated by blank lines.
func split(text string) ([][]line, error) {
	var blocks [][]line
	var cur []line
	comment := false // the previous logical line is a comment (folds continue it)
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		switch {
		case strings.TrimSpace(raw) == "":
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
			comment = false
		case raw[0] == ' ':
			switch {
			case comment:
			case len(cur) == 0:
				return nil, &Error{Line: n, Msg: "a continuation line (starting with a space) follows no line"}
			default:
				cur[len(cur)-1].text += raw[1:]
			}
		case raw[0] == '#':
			comment = true
		case raw[0] == '\t':
			return nil, &Error{Line: n, Msg: "a line starts with a tab (only one space folds a line)"}
		default:
			comment = false
			cur = append(cur, line{n: n, text: raw})
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks, nil
}

var (
	attrRe = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$`)
	oidRe  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+$`)
)

// attrValue splits "type: value", "type:: base64" or "type:< url".
func attrValue(l line, dn string) (typ, val string, err error) {
	errf := func(format string, args ...any) error {
		return &Error{Line: l.n, DN: dn, Msg: fmt.Sprintf(format, args...)}
	}
	i := strings.IndexByte(l.text, ':')
	if i < 0 {
		return "", "", errf("expected \"attribute: value\", got %q", clip(l.text))
	}
	typ, rest := l.text[:i], l.text[i+1:]
	if !attrRe.MatchString(typ) {
		return "", "", errf("%q is not an attribute name", clip(typ))
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		b64 := strings.TrimSpace(rest[1:])
		dec, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", "", errf("the value of %s is not valid base64: %v", typ, err)
		}
		return typ, string(dec), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", errf("the value of %s is a URL (%q): URL values are not supported, write the value", typ, clip(strings.TrimSpace(rest[1:])))
	}
	val = strings.TrimLeft(rest, " ")
	if !utf8.ValidString(val) {
		return "", "", errf("the value of %s is not UTF-8 text: use \"%s:: base64\"", typ, typ)
	}
	return typ, val, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func parseRecord(b []line) (Record, error) {
	r := Record{Line: b[0].n}
	typ, dn, err := attrValue(b[0], "")
	if err != nil {
		return r, err
	}
	if !strings.EqualFold(typ, "dn") {
		return r, &Error{Line: b[0].n, Msg: fmt.Sprintf("a record starts with \"dn:\", not %q", clip(b[0].text))}
	}
	if strings.TrimSpace(dn) == "" {
		return r, &Error{Line: b[0].n, Msg: "empty dn"}
	}
	if _, err := goldap.ParseDN(dn); err != nil {
		return r, &Error{Line: b[0].n, Msg: fmt.Sprintf("invalid dn %q: %v", clip(dn), err)}
	}
	r.DN = dn
	errf := func(l line, format string, args ...any) error {
		return &Error{Line: l.n, DN: dn, Msg: fmt.Sprintf(format, args...)}
	}
	rest := b[1:]
	for len(rest) > 0 && strings.HasPrefix(strings.ToLower(rest[0].text), "control:") {
		c, err := parseControl(rest[0], dn)
		if err != nil {
			return r, err
		}
		r.Controls = append(r.Controls, c)
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return r, &Error{Line: b[0].n, DN: dn, Msg: "no changetype: a step's record says what it changes (changetype: add, modify, delete or modrdn)"}
	}
	typ, ct, err := attrValue(rest[0], dn)
	if err != nil {
		return r, err
	}
	if !strings.EqualFold(typ, "changetype") {
		return r, errf(rest[0], "expected \"changetype:\" after the dn, got %q (content records are not supported: write \"changetype: add\")", clip(rest[0].text))
	}
	body := rest[1:]
	switch ct = strings.ToLower(strings.TrimSpace(ct)); ct {
	case Add:
		r.ChangeType = Add
		if len(body) == 0 {
			return r, errf(rest[0], "an add record needs attributes")
		}
		for _, l := range body {
			if l.text == "-" {
				return r, errf(l, "unexpected \"-\" in an add record (it ends a modification of a modify record)")
			}
			t, v, err := attrValue(l, dn)
			if err != nil {
				return r, err
			}
			if strings.EqualFold(t, "changetype") || strings.EqualFold(t, "dn") {
				return r, errf(l, "unexpected %q in an add record (a blank line must separate records)", clip(l.text))
			}
			r.Attributes = addValue(r.Attributes, t, v)
		}
	case Delete:
		r.ChangeType = Delete
		if len(body) > 0 {
			return r, errf(body[0], "a delete record takes nothing after its changetype (a blank line must separate records), got %q", clip(body[0].text))
		}
	case "modrdn", "moddn":
		r.ChangeType = ModRDN
		if err := parseModRDN(&r, rest[0], body); err != nil {
			return r, err
		}
	case Modify:
		r.ChangeType = Modify
		if err := parseModify(&r, rest[0], body); err != nil {
			return r, err
		}
	default:
		return r, errf(rest[0], "unknown changetype %q (add, delete, modify, modrdn)", clip(ct))
	}
	return r, nil
}

// addValue appends v to the attribute t, grouping types case-insensitively.
func addValue(attrs []Attribute, t, v string) []Attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Type, t) {
			attrs[i].Values = append(attrs[i].Values, v)
			return attrs
		}
	}
	return append(attrs, Attribute{Type: t, Values: []string{v}})
}

func parseControl(l line, dn string) (Control, error) {
	errf := func(format string, args ...any) error {
		return &Error{Line: l.n, DN: dn, Msg: fmt.Sprintf(format, args...)}
	}
	spec := strings.TrimLeft(l.text[len("control:"):], " ")
	var c Control
	end := strings.IndexAny(spec, " :")
	if end < 0 {
		end = len(spec)
	}
	c.OID, spec = spec[:end], spec[end:]
	if !oidRe.MatchString(c.OID) {
		return c, errf("control: %q is not an OID", clip(c.OID))
	}
	spec = strings.TrimLeft(spec, " ")
	for _, w := range []string{"true", "false"} {
		if strings.HasPrefix(spec, w) {
			c.Critical = w == "true"
			spec = strings.TrimLeft(spec[len(w):], " ")
		}
	}
	switch {
	case spec == "":
	case strings.HasPrefix(spec, "::"):
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(spec[2:]))
		if err != nil {
			return c, errf("control %s: the value is not valid base64: %v", c.OID, err)
		}
		c.Value, c.HasValue = string(v), true
	case strings.HasPrefix(spec, ":<"):
		return c, errf("control %s: URL values are not supported", c.OID)
	case strings.HasPrefix(spec, ":"):
		c.Value, c.HasValue = strings.TrimLeft(spec[1:], " "), true
	default:
		return c, errf("control %s: expected true, false or \": value\", got %q", c.OID, clip(spec))
	}
	return c, nil
}

func parseModRDN(r *Record, ctLine line, body []line) error {
	errf := func(l line, format string, args ...any) error {
		return &Error{Line: l.n, DN: r.DN, Msg: fmt.Sprintf(format, args...)}
	}
	seen := map[string]bool{}
	for _, l := range body {
		t, v, err := attrValue(l, r.DN)
		if err != nil {
			return err
		}
		t = strings.ToLower(t)
		if seen[t] {
			return errf(l, "%s given twice", t)
		}
		seen[t] = true
		switch t {
		case "newrdn":
			if _, err := goldap.ParseDN(v); err != nil || strings.TrimSpace(v) == "" {
				return errf(l, "invalid newrdn %q", clip(v))
			}
			r.NewRDN = v
		case "deleteoldrdn":
			switch strings.TrimSpace(v) {
			case "0":
			case "1":
				r.DeleteOldRDN = true
			default:
				return errf(l, "deleteoldrdn is 0 or 1, not %q", clip(v))
			}
		case "newsuperior":
			if _, err := goldap.ParseDN(v); err != nil || strings.TrimSpace(v) == "" {
				return errf(l, "invalid newsuperior %q", clip(v))
			}
			r.NewSuperior = v
		default:
			return errf(l, "unexpected %q in a modrdn record (newrdn, deleteoldrdn, newsuperior)", clip(l.text))
		}
	}
	switch {
	case !seen["newrdn"]:
		return errf(ctLine, "a modrdn record needs newrdn")
	case !seen["deleteoldrdn"]:
		return errf(ctLine, "a modrdn record needs deleteoldrdn (0 or 1)")
	}
	return nil
}

func parseModify(r *Record, ctLine line, body []line) error {
	errf := func(l line, format string, args ...any) error {
		return &Error{Line: l.n, DN: r.DN, Msg: fmt.Sprintf(format, args...)}
	}
	var cur *Change
	closeChange := func(l line) error {
		switch {
		case cur.Op == OpAdd && len(cur.Values) == 0:
			return errf(l, "add: %s needs at least one value", cur.Type)
		case cur.Op == OpIncrement && len(cur.Values) != 1:
			return errf(l, "increment: %s needs exactly one value", cur.Type)
		}
		r.Changes = append(r.Changes, *cur)
		cur = nil
		return nil
	}
	for _, l := range body {
		if l.text == "-" {
			if cur == nil {
				return errf(l, "a \"-\" line ends no modification")
			}
			if err := closeChange(l); err != nil {
				return err
			}
			continue
		}
		t, v, err := attrValue(l, r.DN)
		if err != nil {
			return err
		}
		if cur == nil {
			op := strings.ToLower(t)
			switch op {
			case OpAdd, OpDelete, OpReplace, OpIncrement:
			default:
				return errf(l, "expected \"add:\", \"delete:\", \"replace:\" or \"increment:\" and an attribute, got %q", clip(l.text))
			}
			v = strings.TrimSpace(v)
			if !attrRe.MatchString(v) {
				return errf(l, "%s: %q is not an attribute name", op, clip(v))
			}
			cur = &Change{Op: op, Attribute: Attribute{Type: v}, Line: l.n}
			continue
		}
		if !strings.EqualFold(t, cur.Type) {
			return errf(l, "value of %s inside \"%s: %s\" (end each modification with a \"-\" line)", t, cur.Op, cur.Type)
		}
		cur.Values = append(cur.Values, v)
	}
	if cur != nil {
		if err := closeChange(body[len(body)-1]); err != nil {
			return err
		}
	}
	if len(r.Changes) == 0 {
		return errf(ctLine, "a modify record needs at least one modification")
	}
	return nil
}
