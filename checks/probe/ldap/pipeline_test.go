package ldap

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/tailab/tailab/checks/probe"
)

// holdingServer is an LDAP server that answers searches only once it holds n
// of them on one connection, each with one entry named after its base.
func holdingServer(t *testing.T, n int) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		type search struct {
			id   int64
			base string
		}
		var held []search
		for {
			p, err := ber.ReadPacket(c)
			if err != nil || len(p.Children) < 2 {
				return
			}
			id, _ := p.Children[0].Value.(int64)
			op := p.Children[1]
			if op.Tag != 3 { // not a SearchRequest (an unbind): done
				return
			}
			base, _ := op.Children[0].Value.(string)
			held = append(held, search{id, base})
			if len(held) < n {
				continue
			}
			for _, s := range held {
				entry := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "SearchResultEntry")
				entry.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s.base, "dn"))
				entry.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes"))
				done := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 5, nil, "SearchResultDone")
				done.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, "resultCode"))
				done.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
				done.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "message"))
				_, _ = c.Write(envelope(s.id, entry).Bytes())
				_, _ = c.Write(envelope(s.id, done).Bytes())
			}
			held = nil
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// envelope is an LDAPMessage carrying op (built first: AppendChild copies
// the child's bytes).
func envelope(id int64, op *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP message")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	p.AppendChild(op)
	return p
}

// TestSearchesPipelined: a server that answers only once it holds 4
// searches answers every check of the batch, so they are outstanding together
// on the batch's one connection (one after the other, the first would wait out
// its timeout), and each observation is its own search's.
func TestSearchesPipelined(t *testing.T) {
	const n = 4
	port := holdingServer(t, n)
	reqs := make([]probe.Request, 3*n)
	for i := range reqs {
		reqs[i] = probe.Request{ID: strconv.Itoa(i), Timeout: 10 * time.Second,
			Params: &Params{TLS: TLSNone, Port: port, Base: "OU=o" + strconv.Itoa(i) + ",DC=lab,DC=local", Scope: "base"}}
	}
	obs, err := New().Run(context.Background(), probe.Target{Address: "127.0.0.1"}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range obs {
		want := []any{"OU=o" + strconv.Itoa(i) + ",DC=lab,DC=local"}
		if o.ID != reqs[i].ID || o.Err != nil || !reflect.DeepEqual(o.Values["dns"], want) {
			t.Errorf("search %d: id %q err %v dns %v, want %v", i, o.ID, o.Err, o.Values["dns"], want)
		}
	}
}
