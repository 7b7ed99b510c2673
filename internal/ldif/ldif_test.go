package ldif

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Record
	}{
		{"add, comments, folding, base64, CR LF", "version: 1\r\n# l'agence\r\n#  suite du commentaire\r\ndn: OU=Élèves,DC=lab,\r\n DC=local\r\nchangetype: add\r\nobjectClass: top\r\nobjectClass: organizationalUnit\r\ndescription:: w4lsw6h2ZXMgZGUgUGFyaXM=\r\nDescription;lang-fr:   avec espaces\r\n",
			[]Record{{Line: 4, DN: "OU=Élèves,DC=lab,DC=local", ChangeType: Add, Attributes: []Attribute{
				{"objectClass", []string{"top", "organizationalUnit"}},
				{"description", []string{"Élèves de Paris"}},
				{"Description;lang-fr", []string{"avec espaces"}},
			}}}},
		{"modify, every op, last dash left out", "dn: CN=alice,OU=Paris,DC=lab,DC=local\nchangetype: modify\nreplace: description\ndescription: Comptable\n-\nadd: otherTelephone\notherTelephone: 01 02\notherTelephone: 03 04\n-\ndelete: mail\n-\ndelete: otherTelephone\notherTelephone: 01 02\n-\nreplace: info\n-\nincrement: uidNumber\nuidNumber: 1\n",
			[]Record{{Line: 1, DN: "CN=alice,OU=Paris,DC=lab,DC=local", ChangeType: Modify, Changes: []Change{
				{OpReplace, Attribute{"description", []string{"Comptable"}}, 3},
				{OpAdd, Attribute{"otherTelephone", []string{"01 02", "03 04"}}, 6},
				{OpDelete, Attribute{"mail", nil}, 10},
				{OpDelete, Attribute{"otherTelephone", []string{"01 02"}}, 12},
				{OpReplace, Attribute{"info", nil}, 15},
				{OpIncrement, Attribute{"uidNumber", []string{"1"}}, 17},
			}}}},
		{"several records, blank lines of spaces, moddn, delete, control", "dn: CN=bob,OU=Paris,DC=lab,DC=local\nchangetype: moddn\nnewrdn: CN=robert\ndeleteoldrdn: 1\nnewsuperior: OU=Lyon,DC=lab,DC=local\n   \n\n\ndn: OU=Lyon,DC=lab,DC=local\ncontrol: 1.2.840.113556.1.4.805 true\ncontrol: 1.2.3.4 false: valeur\ncontrol: 1.2.3.5:: YQ==\nChangeType: Delete\n",
			[]Record{
				{Line: 1, DN: "CN=bob,OU=Paris,DC=lab,DC=local", ChangeType: ModRDN, NewRDN: "CN=robert", DeleteOldRDN: true, NewSuperior: "OU=Lyon,DC=lab,DC=local"},
				{Line: 9, DN: "OU=Lyon,DC=lab,DC=local", ChangeType: Delete, Controls: []Control{
					{OID: "1.2.840.113556.1.4.805", Critical: true},
					{OID: "1.2.3.4", Value: "valeur", HasValue: true},
					{OID: "1.2.3.5", Value: "a", HasValue: true},
				}},
			}},
		{"modrdn keeping the old rdn", "dn:: Q049Ym9iLERDPWxhYixEQz1sb2NhbA==\nchangetype: modrdn\nnewrdn: CN=robert\ndeleteoldrdn: 0\n",
			[]Record{{Line: 1, DN: "CN=bob,DC=lab,DC=local", ChangeType: ModRDN, NewRDN: "CN=robert"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const dn = "dn: CN=x,DC=lab,DC=local\n"
	tests := []struct{ name, in, want string }{
		{"empty", "", "line 1: no change record"},
		{"comments only", "# rien\n\n", "line 1: no change record"},
		{"version 2", "version: 2\n\n" + dn + "changetype: delete\n", `line 1: unsupported LDIF version "2"`},
		{"no dn", "changetype: add\n", `line 1: a record starts with "dn:"`},
		{"bad dn", "dn: pas un dn\nchangetype: delete\n", `line 1: invalid dn "pas un dn"`},
		{"empty dn", "dn:\nchangetype: delete\n", "line 1: empty dn"},
		{"content record", dn + "objectClass: top\n", `line 2 (record CN=x,DC=lab,DC=local): expected "changetype:" after the dn, got "objectClass: top" (content records are not supported`},
		{"dn alone", "\n\n" + dn, "line 3 (record CN=x,DC=lab,DC=local): no changetype"},
		{"unknown changetype", dn + "changetype: rename\n", `line 2 (record CN=x,DC=lab,DC=local): unknown changetype "rename"`},
		{"add without attributes", dn + "changetype: add\n", "line 2 (record CN=x,DC=lab,DC=local): an add record needs attributes"},
		{"two records without blank line", dn + "changetype: add\nobjectClass: top\n" + dn + "changetype: delete\n", `line 4 (record CN=x,DC=lab,DC=local): unexpected "dn: CN=x,DC=lab,DC=local" in an add record`},
		{"dash in add", dn + "changetype: add\nobjectClass: top\n-\n", `line 4 (record CN=x,DC=lab,DC=local): unexpected "-" in an add record`},
		{"no colon", dn + "changetype: add\nobjectClass top\n", `line 3 (record CN=x,DC=lab,DC=local): expected "attribute: value", got "objectClass top"`},
		{"bad attribute name", dn + "changetype: add\nobject class: top\n", `line 3 (record CN=x,DC=lab,DC=local): "object class" is not an attribute name`},
		{"bad base64", dn + "changetype: add\ndescription:: ***\n", "line 3 (record CN=x,DC=lab,DC=local): the value of description is not valid base64"},
		{"url", dn + "changetype: add\njpegPhoto:< file:///tmp/a.jpg\n", "line 3 (record CN=x,DC=lab,DC=local): the value of jpegPhoto is a URL"},
		{"not UTF-8", dn + "changetype: add\ndescription: \xff\n", `use "description:: base64"`},
		{"leading continuation", " suite\n" + dn, "line 1: a continuation line (starting with a space) follows no line"},
		{"tab", dn + "\tchangetype: delete\n", "line 2: a line starts with a tab"},
		{"delete with body", dn + "changetype: delete\ndescription: x\n", "line 3 (record CN=x,DC=lab,DC=local): a delete record takes nothing after its changetype"},
		{"modify: unknown op", dn + "changetype: modify\nset: description\ndescription: x\n", `line 3 (record CN=x,DC=lab,DC=local): expected "add:", "delete:", "replace:" or "increment:"`},
		{"modify: other attribute", dn + "changetype: modify\nreplace: description\ninfo: x\n-\n", `line 4 (record CN=x,DC=lab,DC=local): value of info inside "replace: description" (end each modification with a "-" line)`},
		{"modify: add without value", dn + "changetype: modify\nadd: description\n-\n", "line 4 (record CN=x,DC=lab,DC=local): add: description needs at least one value"},
		{"modify: increment two values", dn + "changetype: modify\nincrement: uidNumber\nuidNumber: 1\nuidNumber: 2\n", "line 5 (record CN=x,DC=lab,DC=local): increment: uidNumber needs exactly one value"},
		{"modify: stray dash", dn + "changetype: modify\n-\n", `line 3 (record CN=x,DC=lab,DC=local): a "-" line ends no modification`},
		{"modify: nothing", dn + "changetype: modify\n", "line 2 (record CN=x,DC=lab,DC=local): a modify record needs at least one modification"},
		{"modify: bad attribute", dn + "changetype: modify\nreplace: un attribut\n", `line 3 (record CN=x,DC=lab,DC=local): replace: "un attribut" is not an attribute name`},
		{"modrdn: no newrdn", dn + "changetype: modrdn\ndeleteoldrdn: 1\n", "line 2 (record CN=x,DC=lab,DC=local): a modrdn record needs newrdn"},
		{"modrdn: no deleteoldrdn", dn + "changetype: modrdn\nnewrdn: CN=y\n", "line 2 (record CN=x,DC=lab,DC=local): a modrdn record needs deleteoldrdn"},
		{"modrdn: bad deleteoldrdn", dn + "changetype: modrdn\nnewrdn: CN=y\ndeleteoldrdn: oui\n", `line 4 (record CN=x,DC=lab,DC=local): deleteoldrdn is 0 or 1, not "oui"`},
		{"modrdn: twice", dn + "changetype: modrdn\nnewrdn: CN=y\nnewrdn: CN=z\n", "line 4 (record CN=x,DC=lab,DC=local): newrdn given twice"},
		{"modrdn: other", dn + "changetype: modrdn\nnewrdn: CN=y\ndeleteoldrdn: 1\ndescription: x\n", `line 5 (record CN=x,DC=lab,DC=local): unexpected "description: x" in a modrdn record`},
		{"control: bad oid", dn + "control: treedelete\nchangetype: delete\n", `line 2 (record CN=x,DC=lab,DC=local): control: "treedelete" is not an OID`},
		{"control: junk", dn + "control: 1.2.3 peut-être\nchangetype: delete\n", `line 2 (record CN=x,DC=lab,DC=local): control 1.2.3: expected true, false or ": value"`},
		{"second record's error", dn + "changetype: delete\n\n# suivant\ndn: CN=y,DC=lab,DC=local\nchangetype: add\n", "line 6 (record CN=y,DC=lab,DC=local): an add record needs attributes"},
		{"replace without values, last dash left out", dn + "changetype: modify\nreplace: description\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var le *Error
			if err == nil || !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("err = %v, want an *Error with a line", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"dn: OU=Paris,DC=lab,DC=local\nchangetype: add\nobjectClass: organizationalUnit\n",
		"version: 1\n\ndn: CN=a,DC=x\nchangetype: modify\nreplace: description\ndescription: b\n-\n",
		"dn: CN=a,DC=x\ncontrol: 1.2.3 true:: YQ==\nchangetype: delete\n\ndn: CN=b,DC=x\nchangetype: modrdn\nnewrdn: CN=c\ndeleteoldrdn: 1\n",
		"# c\n  suite\ndn:: Q049YQ==\n changetype: delete\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		recs, err := Parse(in)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || le.Line < 1 || le.Line > strings.Count(in, "\n")+1 {
				t.Fatalf("error without a line in the text: %v", err)
			}
			return
		}
		for _, r := range recs {
			switch {
			case r.DN == "" || r.Line < 1:
				t.Fatalf("record without dn or line: %+v", r)
			case r.ChangeType == Add && len(r.Attributes) == 0,
				r.ChangeType == Modify && len(r.Changes) == 0,
				r.ChangeType == ModRDN && r.NewRDN == "":
				t.Fatalf("incomplete record: %+v", r)
			case r.ChangeType != Add && r.ChangeType != Modify && r.ChangeType != ModRDN && r.ChangeType != Delete:
				t.Fatalf("change type %q", r.ChangeType)
			}
		}
	})
}
