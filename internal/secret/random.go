package secret

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Unambiguous holds the characters of passwords a person copies from paper:
// no look-alikes (no 0/O, 1/l/I).
const Unambiguous = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// Random returns n characters drawn uniformly from set (single-byte
// characters) with crypto/rand.
func Random(n int, set string) (string, error) {
	if n < 0 || set == "" {
		return "", fmt.Errorf("random secret: %d characters from a set of %d", n, len(set))
	}
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
