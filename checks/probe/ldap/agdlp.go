package ldap

import (
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// AGDLP names the three links of the AGDLP chain a check credits: an account
// (A), a global group (G) holding it, a domain-local group (DL) holding the
// global group; the permission (P) is granted to DL elsewhere (a share's
// valid users, an ACL). Each is a sAMAccountName.
type AGDLP struct {
	Account     string `yaml:"account"`
	Global      string `yaml:"global"`
	DomainLocal string `yaml:"domain_local"`
}

// groupType bits ([MS-ADTS] 2.2.12).
const (
	groupGlobal      = 0x2
	groupDomainLocal = 0x4
	groupUniversal   = 0x8
	groupSecurity    = 0x80000000
)

// adObject is an account or group found by sAMAccountName.
type adObject struct {
	dn        string
	groupType uint32
	members   []string
}

func (o *adObject) has(dn string) bool {
	for _, m := range o.members {
		if strings.EqualFold(m, dn) {
			return true
		}
	}
	return false
}

// groupScope is a group's scope as the jury reads it.
func groupScope(groupType uint32) string {
	switch {
	case groupType&groupGlobal != 0:
		return "globale"
	case groupType&groupDomainLocal != 0:
		return "domaine local"
	case groupType&groupUniversal != 0:
		return "universelle"
	}
	return "inconnue"
}

// agdlp checks the chain exactly: the account is a direct member of the
// global group; the global group is a global security group and a direct
// member of the domain-local group, a domain-local security group; the account
// is not itself a member of the domain-local group (a direct membership is the
// near miss AGDLP exists to avoid, even beside the chain). Values: agdlp
// (bool), agdlp_missing (what breaks the chain, in French; empty when it
// holds) and agdlp_links (each link's state).
func (s *session) agdlp(a *AGDLP, values map[string]any, ev *strings.Builder) error {
	var missing []any
	get := func(name, what string) (*adObject, error) {
		o, err := s.bySAM(name)
		if err == nil && o == nil {
			missing = append(missing, fmt.Sprintf("%s %q introuvable", what, name))
		}
		return o, err
	}
	acct, err := get(a.Account, "compte")
	if err != nil {
		return err
	}
	gg, err := get(a.Global, "groupe global")
	if err != nil {
		return err
	}
	dl, err := get(a.DomainLocal, "groupe local de domaine")
	if err != nil {
		return err
	}
	links := map[string]any{}
	if acct != nil {
		links["account_dn"] = acct.dn
	}
	if dl != nil {
		links["domain_local_dn"] = dl.dn
	}
	if gg != nil {
		links["global_dn"] = gg.dn
		links["global_scope"] = groupScope(gg.groupType)
		if gg.groupType&groupGlobal == 0 {
			missing = append(missing, fmt.Sprintf("%s n'est pas un groupe global (étendue %s)", a.Global, groupScope(gg.groupType)))
		}
		if gg.groupType&groupSecurity == 0 {
			missing = append(missing, a.Global+" n'est pas un groupe de sécurité")
		}
	}
	if dl != nil {
		links["domain_local_scope"] = groupScope(dl.groupType)
		if dl.groupType&groupDomainLocal == 0 {
			missing = append(missing, fmt.Sprintf("%s n'est pas un groupe local de domaine (étendue %s)", a.DomainLocal, groupScope(dl.groupType)))
		}
		if dl.groupType&groupSecurity == 0 {
			missing = append(missing, a.DomainLocal+" n'est pas un groupe de sécurité")
		}
	}
	if acct != nil && gg != nil {
		links["account_in_global"] = gg.has(acct.dn)
		if !gg.has(acct.dn) {
			missing = append(missing, fmt.Sprintf("%s n'est pas membre (direct) de %s", a.Account, a.Global))
		}
	}
	if gg != nil && dl != nil {
		links["global_in_domain_local"] = dl.has(gg.dn)
		if !dl.has(gg.dn) {
			missing = append(missing, fmt.Sprintf("%s n'est pas membre de %s", a.Global, a.DomainLocal))
		}
	}
	if acct != nil && dl != nil {
		links["account_in_domain_local"] = dl.has(acct.dn)
		if dl.has(acct.dn) {
			missing = append(missing, fmt.Sprintf("%s est membre direct de %s : en AGDLP, seulement par %s", a.Account, a.DomainLocal, a.Global))
		}
	}
	values["agdlp"] = len(missing) == 0
	values["agdlp_missing"] = nonNil(missing)
	values["agdlp_links"] = links
	fmt.Fprintf(ev, "agdlp %s → %s → %s: ", a.Account, a.Global, a.DomainLocal)
	if len(missing) == 0 {
		ev.WriteString("chain holds\n")
	} else {
		for i, m := range missing {
			if i > 0 {
				ev.WriteString("; ")
			}
			fmt.Fprint(ev, m)
		}
		ev.WriteString("\n")
	}
	return nil
}

// bySAM finds an object of the domain by sAMAccountName (nil: none).
func (s *session) bySAM(name string) (*adObject, error) {
	base, err := s.resolveDN("")
	if err != nil {
		return nil, err
	}
	res, err := s.conn.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		"(sAMAccountName="+goldap.EscapeFilter(name)+")", []string{"groupType", "member"}, nil))
	if err != nil {
		return nil, fmt.Errorf("search sAMAccountName=%s: %w", name, err)
	}
	for _, e := range res.Entries {
		if e.DN == "" {
			continue // a referral
		}
		gt, _ := strconv.ParseInt(e.GetAttributeValue("groupType"), 10, 64)
		return &adObject{dn: e.DN, groupType: uint32(gt), members: e.GetAttributeValues("member")}, nil
	}
	return nil, nil
}
