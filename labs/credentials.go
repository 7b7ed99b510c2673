package labs

import (
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/yamlx"
)

// Identity is one named credential of a transport: a machine may hold several
// (`credentials: {smb: {admin: {...}, pdurand: {...}}}`), and a check picks
// one with `as: pdurand` (what a second user may do on a share).
type Identity struct {
	Name string `json:"name"`
	Credential
}

// identityRe is the syntax of an identity's name (as a check's `as`).
var identityRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// UnmarshalYAMLX implements yamlx.Unmarshaler: a transport's credentials are
// either one credential (user, password, key, domain) or a mapping of names to
// credentials, told apart by their values (all mappings: named). With names,
// the first one is also the transport's default (checks without `as`).
func (c *Credential) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	type plain Credential
	if !namedCredentials(n) {
		d.Decode(n, (*plain)(c), field)
		return
	}
	*c = Credential{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := field + "." + yamlx.QuoteKey(k.Value)
		if !identityRe.MatchString(k.Value) {
			d.Errorf(k, f, "%q is not a valid identity name (letters, digits, _ . -)", k.Value)
			continue
		}
		var id Identity
		id.Name = k.Value
		d.Decode(v, (*plain)(&id.Credential), f)
		id.Identities = nil
		c.Identities = append(c.Identities, id)
	}
	if len(c.Identities) > 0 {
		ids := c.Identities
		*c = c.Identities[0].Credential
		c.Identities = ids
	}
}

// namedCredentials reports whether n is a mapping of names to credentials.
func namedCredentials(n *yaml.Node) bool {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return false
	}
	for i := 1; i < len(n.Content); i += 2 {
		v := n.Content[i]
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != yaml.MappingNode {
			return false
		}
	}
	return true
}

// All returns the transport's credentials to check: the named identities when
// there are, else the one credential (Name "").
func (c Credential) All() []Identity {
	if len(c.Identities) > 0 {
		return c.Identities
	}
	return []Identity{{Credential: c}}
}
