package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/store"
)

// Endpoint is where candidates find the gateway of a session, as their
// access sheets print it. `tailab gateway` records it when it starts.
type Endpoint struct {
	Address string `json:"address"` // the host's address on the exam-room network
	SSHPort int    `json:"ssh_port"`
	WebPort int    `json:"web_port,omitempty"`
	// CertSHA256 is the SHA-256 of the HTTPS certificate (AA:BB:...), which
	// a candidate compares with the browser's before typing a password.
	CertSHA256 string `json:"cert_sha256,omitempty"`
	// HostKey is the SSH host key's fingerprint (SHA256:...).
	HostKey string `json:"host_key"`
}

// URL is the browser side's address.
func (e Endpoint) URL() string {
	if e.WebPort == 0 {
		return ""
	}
	return "https://" + net.JoinHostPort(e.Address, fmt.Sprint(e.WebPort)) + "/"
}

const endpointKey = "endpoint"

// SaveEndpoint records the session's gateway endpoint.
func SaveEndpoint(st *store.Store, session string, e Endpoint) error {
	return st.Update(func(tx *store.Tx) error { return tx.Put(bucket+"/"+session, endpointKey, e) })
}

// LoadEndpoint returns the session's gateway endpoint (ok false: the gateway
// never ran for it).
func LoadEndpoint(st *store.Store, session string) (Endpoint, bool, error) {
	var e Endpoint
	err := st.View(func(tx *store.Tx) error { return tx.Get(bucket+"/"+session, endpointKey, &e) })
	if errors.Is(err, store.ErrNotFound) {
		return e, false, nil
	}
	return e, err == nil, err
}

// HostKeyFingerprint is the SHA256 fingerprint of the gateway's host key.
func HostKeyFingerprint(signer ssh.Signer) string { return ssh.FingerprintSHA256(signer.PublicKey()) }

// Certificate returns the gateway's HTTPS certificate for address (an IP
// or a host name), generated once per address and kept in the store, and
// its SHA-256 fingerprint.
func Certificate(st *store.Store, address string) (tls.Certificate, string, error) {
	var pair struct{ Cert, Key string }
	key := "tls/" + address
	err := st.Update(func(tx *store.Tx) error {
		err := tx.Get(bucketKeys, key, &pair)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		pair.Cert, pair.Key, err = newCertificate(address)
		if err != nil {
			return err
		}
		return tx.Put(bucketKeys, key, pair)
	})
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("gateway certificate: %w", err)
	}
	cert, err := tls.X509KeyPair([]byte(pair.Cert), []byte(pair.Key))
	if err != nil {
		return cert, "", fmt.Errorf("gateway certificate: %w", err)
	}
	return cert, CertFingerprint(cert.Certificate[0]), nil
}

// CertFingerprint is a DER certificate's SHA-256 as browsers show it.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func newCertificate(address string) (certPEM, keyPEM string, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "tailab gateway " + address, Organization: []string{"tailab"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if ip := net.ParseIP(address); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if address != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, address)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})), nil
}
