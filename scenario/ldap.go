package scenario

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/internal/ldif"
	"github.com/tailab/tailab/labs"
)

// ldapSteps applies a step's `run` as LDIF change records (internal/ldif:
// changetype add, delete, modify, modrdn) to the machine's directory, in order,
// over one connection opened as the ldap probe opens it (ldap.LDAP.Connect:
// LDAPS or StartTLS, bound with the machine's "ldap" credentials). The first
// record the server refuses stops the step with an error naming the record;
// the records before it stay applied. Nothing is idempotent: re-adding an
// entry that exists fails with "the entry already exists".
type ldapSteps struct{ params *ldap.Params }

// Apply parses the records, then applies them. out is a transcript, one line
// per record applied (operation, dn, attribute names: never values, which may
// be passwords); code is the LDAP result code of a refused record.
func (l *ldapSteps) Apply(ctx context.Context, t probe.Target, st labs.Step) (string, int, error) {
	recs, err := ldif.Parse(st.Run)
	if err != nil {
		return "", 0, fmt.Errorf("run is not LDIF change records: %w", err)
	}
	p := l.params
	if p == nil {
		d := DefaultLDAPStep
		p = &d
	}
	timeout := DefaultStepTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, err := ldap.New().Connect(ctx, t, p, timeout)
	if err != nil {
		return "", 0, notStarted(err) // no record was sent
	}
	defer conn.Close()
	var out strings.Builder
	fmt.Fprintf(&out, "%s bind %s\n", conn.URL, conn.BindAs)
	for i, r := range recs {
		what := describe(r)
		if err := applyRecord(conn.Conn, r); err != nil {
			code := 0
			var le *goldap.Error
			if errors.As(err, &le) {
				code = int(le.ResultCode)
			}
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", err, ctx.Err())
			}
			fmt.Fprintf(&out, "%s: refused\n", what)
			return out.String(), code, fmt.Errorf("record %d (line %d of run: %s %s)%s: %w", i+1, r.Line, r.ChangeType, r.DN, hint(err), err)
		}
		fmt.Fprintf(&out, "%s: ok\n", what)
	}
	return out.String(), 0, nil
}

// describe is a record's transcript line, without values.
func describe(r ldif.Record) string {
	var names []string
	switch r.ChangeType {
	case ldif.Add:
		for _, a := range r.Attributes {
			names = append(names, a.Type)
		}
	case ldif.Modify:
		for _, c := range r.Changes {
			names = append(names, c.Op+" "+c.Type)
		}
	case ldif.ModRDN:
		names = append(names, "newrdn "+r.NewRDN)
		if r.NewSuperior != "" {
			names = append(names, "newsuperior "+r.NewSuperior)
		}
	}
	s := r.ChangeType + " " + r.DN
	if len(names) > 0 {
		s += " (" + strings.Join(names, ", ") + ")"
	}
	return s
}

// hint explains the refusals a step's author meets first.
func hint(err error) string {
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultEntryAlreadyExists):
		return ": the entry already exists (steps are applied once, to an instance whose faults are applied)"
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		return ": no such entry (or its parent is missing)"
	case goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights):
		return ": the bound account may not do this"
	}
	return ""
}

// applyRecord sends one record's operation.
func applyRecord(c *goldap.Conn, r ldif.Record) error {
	var controls []goldap.Control
	for _, ct := range r.Controls {
		controls = append(controls, goldap.NewControlString(ct.OID, ct.Critical, ct.Value))
	}
	switch r.ChangeType {
	case ldif.Add:
		req := goldap.NewAddRequest(r.DN, controls)
		for _, a := range r.Attributes {
			req.Attribute(a.Type, a.Values)
		}
		return c.Add(req)
	case ldif.Delete:
		return c.Del(goldap.NewDelRequest(r.DN, controls))
	case ldif.Modify:
		req := goldap.NewModifyRequest(r.DN, controls)
		for _, ch := range r.Changes {
			switch ch.Op {
			case ldif.OpAdd:
				req.Add(ch.Type, ch.Values)
			case ldif.OpDelete:
				req.Delete(ch.Type, ch.Values)
			case ldif.OpReplace:
				req.Replace(ch.Type, ch.Values)
			case ldif.OpIncrement:
				req.Increment(ch.Type, ch.Values[0])
			}
		}
		return c.Modify(req)
	case ldif.ModRDN:
		return c.ModifyDN(goldap.NewModifyDNWithControlsRequest(r.DN, r.NewRDN, r.DeleteOldRDN, r.NewSuperior, controls))
	}
	return fmt.Errorf("unknown change type %q", r.ChangeType)
}
