package ldap

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// userAccountControl bits ([MS-ADTS] 2.2.16).
var uacFlags = []struct {
	bit  uint32
	name string
}{
	{0x0001, "SCRIPT"},
	{0x0002, "ACCOUNTDISABLE"},
	{0x0008, "HOMEDIR_REQUIRED"},
	{0x0010, "LOCKOUT"},
	{0x0020, "PASSWD_NOTREQD"},
	{0x0040, "PASSWD_CANT_CHANGE"},
	{0x0080, "ENCRYPTED_TEXT_PWD_ALLOWED"},
	{0x0100, "TEMP_DUPLICATE_ACCOUNT"},
	{0x0200, "NORMAL_ACCOUNT"},
	{0x0800, "INTERDOMAIN_TRUST_ACCOUNT"},
	{0x1000, "WORKSTATION_TRUST_ACCOUNT"},
	{0x2000, "SERVER_TRUST_ACCOUNT"},
	{0x10000, "DONT_EXPIRE_PASSWORD"},
	{0x20000, "MNS_LOGON_ACCOUNT"},
	{0x40000, "SMARTCARD_REQUIRED"},
	{0x80000, "TRUSTED_FOR_DELEGATION"},
	{0x100000, "NOT_DELEGATED"},
	{0x200000, "USE_DES_KEY_ONLY"},
	{0x400000, "DONT_REQ_PREAUTH"},
	{0x800000, "PASSWORD_EXPIRED"},
	{0x1000000, "TRUSTED_TO_AUTH_FOR_DELEGATION"},
}

// accountAttributes are what account_flags needs.
var accountAttributes = []string{"userAccountControl", "msDS-User-Account-Control-Computed", "pwdLastSet", "lockoutTime"}

// accountFlags decodes an entry's account state.
func accountFlags(get func(string) string) map[string]any {
	uac64, _ := strconv.ParseUint(get("userAccountControl"), 10, 32)
	uac := uint32(uac64)
	computed, hasComputed := uint64(0), get("msDS-User-Account-Control-Computed") != ""
	if hasComputed {
		computed, _ = strconv.ParseUint(get("msDS-User-Account-Control-Computed"), 10, 32)
	}
	all := uac | uint32(computed)
	names := []any{}
	for _, f := range uacFlags {
		if all&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	locked := all&0x10 != 0
	if !hasComputed {
		lt, _ := strconv.ParseInt(get("lockoutTime"), 10, 64)
		locked = locked || lt > 0
	}
	return map[string]any{
		"disabled":               uac&0x2 != 0,
		"enabled":                uac&0x2 == 0,
		"locked":                 locked,
		"password_never_expires": uac&0x10000 != 0,
		"must_change_password":   get("pwdLastSet") == "0",
		"uac_flags":              names,
	}
}

// GPOLink is one entry of a gPLink attribute.
type GPOLink struct {
	DN       string // CN={GUID},CN=Policies,CN=System,...
	GUID     string // {GUID}, upper case
	Disabled bool
	Enforced bool
}

var gpLinkRe = regexp.MustCompile(`(?i)\[LDAP://([^;\]]+);(\d+)\]`)
var guidRe = regexp.MustCompile(`\{[0-9A-Fa-f-]{36}\}`)

// parseGPLink parses "[LDAP://cn={GUID},cn=policies,...;0][...;2]" in link order.
func parseGPLink(s string) []GPOLink {
	var out []GPOLink
	for _, m := range gpLinkRe.FindAllStringSubmatch(s, -1) {
		opts, _ := strconv.Atoi(m[2])
		out = append(out, GPOLink{
			DN:       m[1],
			GUID:     strings.ToUpper(guidRe.FindString(m[1])),
			Disabled: opts&1 != 0,
			Enforced: opts&2 != 0,
		})
	}
	return out
}

// parseGeneralizedTime parses AD's "20260102150405.0Z".
func parseGeneralizedTime(s string) (time.Time, error) {
	for _, layout := range []string{"20060102150405.0Z", "20060102150405Z", "20060102150405.0-0700", "20060102150405-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a generalized time: %q", s)
}

// binaryAttributes are decoded to their usual text forms.
var binaryAttributes = map[string]func([]byte) string{
	"objectguid":            formatGUID,
	"ms-ds-consistencyguid": formatGUID,
	"objectsid":             formatSID,
	"sidhistory":            formatSID,
	"tokengroups":           formatSID,
	"securityidentifier":    formatSID,
	"msds-generationid":     base64.StdEncoding.EncodeToString,
	"ntsecuritydescriptor":  base64.StdEncoding.EncodeToString,
	"msds-allowedtoactonbehalfofotheridentity": base64.StdEncoding.EncodeToString,
}

// attrValue renders one raw attribute value as text.
func attrValue(attr string, raw []byte) string {
	if f, ok := binaryAttributes[strings.ToLower(attr)]; ok {
		return f(raw)
	}
	if utf8.Valid(raw) {
		return string(raw)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(raw)
}

// formatGUID renders an AD GUID (little-endian first three fields) as
// 8-4-4-4-12 lower-case hex.
func formatGUID(b []byte) string {
	if len(b) != 16 {
		return "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// formatSID renders a binary SID as S-1-5-21-....
func formatSID(b []byte) string {
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "S-%d-%d", b[0], auth)
	for i := 0; i < int(b[1]); i++ {
		fmt.Fprintf(&sb, "-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return sb.String()
}
