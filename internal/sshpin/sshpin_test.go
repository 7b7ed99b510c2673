package sshpin

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func key(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheck(t *testing.T) {
	a, b := key(t), key(t)
	fa, fb := ssh.FingerprintSHA256(a), ssh.FingerprintSHA256(b)
	if err := Callback(fa)("h", nil, a); err != nil {
		t.Fatalf("the pinned key: %v", err)
	}
	err := Callback(fa)("h", nil, b)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "expected "+fa) || !strings.Contains(err.Error(), "presented "+fb) {
		t.Fatalf("another key: %v", err)
	}
}
