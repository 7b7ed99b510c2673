package wsman

import (
	"encoding/hex"
	"strings"
	"testing"
)

// TestMD4 checks md4Sum against RFC 1320's test suite (appendix A.5: one
// and two blocks, the 62-byte input padded into a second block) and the NT
// hash MS-NLMP documents (4.2.4.1.1, password "Password").
func TestMD4(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"a", "bde52cb31de33e46245e05fbdbd6fb24"},
		{"abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"message digest", "d9130a8164549fe818874806e1c7014b"},
		{"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"},
		{strings.Repeat("1234567890", 8), "e33b4ddc9c38f2199c3e7b164fcc0536"},
	} {
		if got := md4Sum([]byte(tc.in)); hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("md4(%q) = %x, want %s", tc.in, got, tc.want)
		}
	}
	if got := hex.EncodeToString(ntHash("Password")); got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Errorf("ntHash(Password) = %s, want a4f49c406510bdcab6824ee7c30fd852", got)
	}
}
