package wsman

import (
	"encoding/binary"
	"math/bits"
)

// md4Sum is MD4 (RFC 1320), which NTLM's NT hash is defined on. It lives here
// rather than in golang.org/x/crypto/md4, which is deprecated because MD4 is
// broken: a test server has to speak the protocol as Windows does, and
// nothing else in tailab may hash with it (the Azure/go-ntlmssp client the
// grader uses carries its own copy for the same reason).
func md4Sum(msg []byte) [16]byte {
	n := len(msg)
	padded := make([]byte, (n+8)/64*64+64)
	copy(padded, msg)
	padded[n] = 0x80
	binary.LittleEndian.PutUint64(padded[len(padded)-8:], uint64(n)*8)

	h := [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}
	var x [16]uint32
	for blk := padded; len(blk) > 0; blk = blk[64:] {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(blk[4*i:])
		}
		a, b, c, d := h[0], h[1], h[2], h[3]
		for r, round := range md4Rounds {
			for i, k := range round.order {
				var f uint32
				switch r {
				case 0:
					f = b&c | ^b&d
				case 1:
					f = b&c | b&d | c&d
				default:
					f = b ^ c ^ d
				}
				// Each step updates the register in first place, then the
				// roles rotate (ABCD, DABC, CDAB, BCDA in the RFC's notation).
				a = bits.RotateLeft32(a+f+x[k]+round.add, round.shift[i%4])
				a, b, c, d = d, a, b, c
			}
		}
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
	}
	var sum [16]byte
	for i, v := range h {
		binary.LittleEndian.PutUint32(sum[4*i:], v)
	}
	return sum
}

// md4Rounds are RFC 1320's three rounds: the order in which each reads the
// block's words, its additive constant and its four rotations.
var md4Rounds = [3]struct {
	order [16]int
	add   uint32
	shift [4]int
}{
	{[16]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0, [4]int{3, 7, 11, 19}},
	{[16]int{0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15}, 0x5a827999, [4]int{3, 5, 9, 13}},
	{[16]int{0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15}, 0x6ed9eba1, [4]int{3, 9, 11, 15}},
}
