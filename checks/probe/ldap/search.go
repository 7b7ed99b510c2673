package ldap

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// maxListed bounds the entries the evidence lists.
const maxListed = 50

// search runs one request's search and builds its values and evidence.
func (s *session) search(p *Params) (map[string]any, string, error) {
	var ev strings.Builder
	base, err := s.resolveDN(p.Base)
	if err != nil {
		return nil, "", err
	}
	filter := p.filter()
	if p.MemberOfNested != "" {
		group, err := s.resolveDN(p.MemberOfNested)
		if err != nil {
			return nil, "", err
		}
		filter = "(&" + filter + "(memberOf:1.2.840.113556.1.4.1941:=" + goldap.EscapeFilter(group) + "))"
	}
	var after time.Time
	if p.CreatedAfter != "" {
		if after, err = parseTime(p.CreatedAfter); err != nil {
			return nil, "", fmt.Errorf("created_after: %w", err)
		}
	}
	attrs := append([]string{}, p.Attributes...)
	extra := []string{}
	if !after.IsZero() {
		extra = append(extra, "whenCreated")
	}
	if p.GPOLinks {
		extra = append(extra, "gPLink")
	}
	if p.AccountFlags {
		extra = append(extra, accountAttributes...)
	}
	fetch := appendMissing(attrs, extra...)
	if len(fetch) == 0 {
		fetch = []string{"1.1"} // no attributes, DNs only
	}
	req := goldap.NewSearchRequest(base, p.scope(), goldap.NeverDerefAliases, p.SizeLimit, 0, false, filter, fetch, nil)
	fmt.Fprintf(&ev, "search base=%q scope=%s filter=%q attributes=[%s]", base, scopeName(p.scope()), filter, strings.Join(fetch, ", "))
	if p.SizeLimit > 0 {
		fmt.Fprintf(&ev, " size_limit=%d", p.SizeLimit)
	}
	ev.WriteString("\n")

	values := map[string]any{"base": base, "base_exists": true, "truncated": false}
	res, err := s.conn.Search(req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		values["base_exists"] = false
		res, err = &goldap.SearchResult{}, nil
		ev.WriteString("base does not exist (noSuchObject)\n")
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || errors.Is(err, goldap.ErrSizeLimitExceeded):
		values["truncated"] = true
		err = nil
	}
	if err != nil {
		return nil, ev.String(), fmt.Errorf("search %s: %w", filter, err)
	}

	entries := make([]any, 0, len(res.Entries))
	dns := make([]any, 0, len(res.Entries))
	var links gpoLinks
	var createdBefore []any
	createdAfter := 0
	for _, e := range res.Entries {
		m := entryMap(e, attrs)
		dns = append(dns, e.DN)
		get := func(a string) string { return firstValue(e, a) }
		if p.AccountFlags {
			for k, v := range accountFlags(get) {
				m[k] = v
			}
		}
		if p.GPOLinks {
			entryLinks := []any{}
			for _, gl := range parseGPLink(get("gPLink")) {
				g, err := s.gpo(gl)
				if err != nil {
					return nil, ev.String(), err
				}
				entryLinks = append(entryLinks, map[string]any{"guid": gl.GUID, "dn": gl.DN, "name": g.name,
					"enabled": !gl.Disabled, "enforced": gl.Enforced, "disabled": gl.Disabled,
					"settings_disabled": g.settingsOff, "applies": !gl.Disabled && !g.settingsOff})
				links.add(gl, g, entryLinks[len(entryLinks)-1])
			}
			m["gpo_links"] = entryLinks
		}
		if !after.IsZero() {
			wc, err := parseGeneralizedTime(get("whenCreated"))
			if err == nil && !wc.Before(after) {
				createdAfter++
				m["created_after"] = true
			} else {
				createdBefore = append(createdBefore, e.DN)
				m["created_after"] = false
			}
		}
		entries = append(entries, m)
	}
	values["count"] = len(entries)
	values["entries"] = entries
	values["dns"] = dns
	if !after.IsZero() {
		values["created_after_count"] = createdAfter
		values["created_before"] = nonNil(createdBefore)
		values["all_created_after"] = len(createdBefore) == 0
	}
	if p.GPOLinks {
		links.values(values)
	}
	if p.AGDLP != nil {
		if err := s.agdlp(p.AGDLP, values, &ev); err != nil {
			return nil, ev.String(), err
		}
	}
	if p.AccountFlags && len(entries) == 1 {
		for _, k := range []string{"disabled", "enabled", "locked", "password_never_expires", "must_change_password"} {
			values[k] = entries[0].(map[string]any)[k]
		}
	}
	writeListing(&ev, res.Entries, fetch, values["truncated"] == true)
	return values, ev.String(), nil
}

// gpoLinks sorts the links of a search's entries. A GPO applies to no one when
// its link is disabled (gPLink option bit 1) or when the GPO itself has all its
// settings disabled (its flags attribute is 3: user and computer parts off), or
// is gone: such a link never counts as linked, so a check reading linked_gpos
// credits only a link that takes effect.
type gpoLinks struct {
	all, names, guids, disabled, settingsOff, enforced []any
}

func (l *gpoLinks) add(gl GPOLink, g gpoInfo, link any) {
	l.all = append(l.all, link)
	switch {
	case gl.Disabled:
		l.disabled = append(l.disabled, g.name)
		return
	case g.settingsOff:
		l.settingsOff = append(l.settingsOff, g.name)
		return
	}
	l.names = append(l.names, g.name)
	l.guids = append(l.guids, gl.GUID)
	if gl.Enforced {
		l.enforced = append(l.enforced, g.name)
	}
}

func (l *gpoLinks) values(v map[string]any) {
	v["gpo_links"] = nonNil(l.all)
	v["linked_gpos"] = nonNil(l.names)
	v["linked_gpo_guids"] = nonNil(l.guids)
	v["linked_gpos_disabled"] = nonNil(l.disabled)
	v["linked_gpos_settings_disabled"] = nonNil(l.settingsOff)
	v["linked_gpos_enforced"] = nonNil(l.enforced)
}

// gpoInfo is what a link's GPO says of itself: its displayName, and whether
// all its settings are disabled (flags = 3, the "GPO status: All settings
// disabled" of the management console) or it does not exist (a link to a
// deleted GPO): either way it applies nothing.
type gpoInfo struct {
	name        string
	settingsOff bool
}

// gpo reads a linked GPO on the same connection (cached).
func (s *session) gpo(gl GPOLink) (gpoInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gpos == nil {
		s.gpos = map[string]gpoInfo{}
	}
	if g, ok := s.gpos[strings.ToLower(gl.DN)]; ok {
		return g, nil
	}
	res, err := s.conn.Search(goldap.NewSearchRequest(gl.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"displayName", "flags"}, nil))
	g := gpoInfo{settingsOff: true}
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		// A link to a deleted GPO: keep the GUID, no name.
	case err != nil:
		return g, fmt.Errorf("read GPO %s: %w", gl.DN, err)
	case len(res.Entries) > 0:
		e := res.Entries[0]
		flags, _ := strconv.Atoi(e.GetAttributeValue("flags"))
		g = gpoInfo{name: e.GetAttributeValue("displayName"), settingsOff: flags&3 == 3}
	}
	s.gpos[strings.ToLower(gl.DN)] = g
	return g, nil
}

// entryMap renders an entry: "dn" and the requested attributes, under their
// requested spelling, as lists of strings.
func entryMap(e *goldap.Entry, requested []string) map[string]any {
	m := map[string]any{"dn": e.DN}
	for _, a := range e.Attributes {
		name := a.Name
		for _, r := range requested {
			if strings.EqualFold(r, a.Name) {
				name = r
				break
			}
		}
		vals := make([]any, len(a.ByteValues))
		for i, raw := range a.ByteValues {
			vals[i] = attrValue(a.Name, raw)
		}
		m[name] = vals
	}
	return m
}

func firstValue(e *goldap.Entry, attr string) string {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, attr) && len(a.ByteValues) > 0 {
			return attrValue(a.Name, a.ByteValues[0])
		}
	}
	return ""
}

func appendMissing(list []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, x := range list {
			if strings.EqualFold(x, m) {
				found = true
				break
			}
		}
		if !found {
			list = append(list, m)
		}
	}
	return list
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func scopeName(s int) string {
	switch s {
	case goldap.ScopeBaseObject:
		return "base"
	case goldap.ScopeSingleLevel:
		return "one"
	}
	return "sub"
}

// writeListing appends a compact listing: one line per entry, its attributes.
func writeListing(ev *strings.Builder, entries []*goldap.Entry, attrs []string, truncated bool) {
	fmt.Fprintf(ev, "%d entries", len(entries))
	if truncated {
		ev.WriteString(" (truncated by the size limit)")
	}
	ev.WriteString("\n")
	for i, e := range entries {
		if i == maxListed {
			fmt.Fprintf(ev, "  ... %d more\n", len(entries)-maxListed)
			break
		}
		var parts []string
		for _, a := range e.Attributes {
			vals := make([]string, len(a.ByteValues))
			for j, raw := range a.ByteValues {
				vals[j] = clip(attrValue(a.Name, raw), 120)
			}
			sort.Strings(vals)
			if len(vals) > 5 {
				vals = append(vals[:5], fmt.Sprintf("(+%d)", len(vals)-5))
			}
			parts = append(parts, a.Name+"="+strings.Join(vals, "|"))
		}
		fmt.Fprintf(ev, "  %s", e.DN)
		if len(parts) > 0 {
			fmt.Fprintf(ev, "  %s", strings.Join(parts, "; "))
		}
		ev.WriteString("\n")
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
