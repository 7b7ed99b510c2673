package secret

import (
	"crypto/rand"
	"math/big"
)

// Unambiguous holds the characters of passwords a person copies from paper:
// no look-alikes (no 0/O, 1/l/I).
const Unambiguous = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// Random returns n characters drawn uniformly from set with crypto/rand.
func Random(n int, set string) (string, error) {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[k.Int64()]
	}
	return string(b), nil
}
