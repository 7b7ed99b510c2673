package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/store"
)

// bucket holds the gateway's records of a session: gateway/<session> keys
// "login/<candidate>" (Login) and "window" (Window). The gateway's own keys
// (SSH host key, TLS certificate) are data-dir wide, in bucketKeys.
const (
	bucket     = "gateway"
	bucketKeys = "gateway-keys"
)

// Login is a candidate's gateway account: the login is the candidate id.
//
// The gateway checks passwords against Hash only. Password is the clear text
// the access sheets print (like the console passwords and the lab's secrets,
// it lives in the admin's state file, mode 0600); the gateway never reads it.
type Login struct {
	Hash      []byte    `json:"hash"`
	Password  string    `json:"password"`
	CreatedAt time.Time `json:"created_at"`
}

// passwordLength is 10 characters without look-alikes (secret.Unambiguous):
// about 58 bits, against which the rate limits leave an attacker a few
// thousand tries a day.
const passwordLength = 10

// bcryptCost keeps a check near 50 ms on a 2-core host: a login stays quick
// while an offline attack on a stolen state file stays slow.
const bcryptCost = 10

// NewPassword returns a random password for a candidate.
func NewPassword() (string, error) { return secret.Random(passwordLength, secret.Unambiguous) }

func newLogin() (Login, error) {
	pw, err := NewPassword()
	if err != nil {
		return Login{}, fmt.Errorf("generate password: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return Login{}, fmt.Errorf("hash password: %w", err)
	}
	return Login{Hash: h, Password: pw, CreatedAt: time.Now().UTC()}, nil
}

func loginKey(candidate string) string { return "login/" + candidate }

// Passwords returns the gateway passwords of the candidates, generating and
// storing those that have none yet (one transaction for all).
func Passwords(st *store.Store, session string, candidates []string) (map[string]secret.Value, error) {
	out := make(map[string]secret.Value, len(candidates))
	err := st.Update(func(tx *store.Tx) error {
		for _, c := range candidates {
			var l Login
			err := tx.Get(bucket+"/"+session, loginKey(c), &l)
			if errors.Is(err, store.ErrNotFound) {
				if l, err = newLogin(); err != nil {
					return err
				}
				err = tx.Put(bucket+"/"+session, loginKey(c), l)
			}
			if err != nil {
				return fmt.Errorf("gateway login %s: %w", c, err)
			}
			out[c] = secret.New(l.Password)
		}
		return nil
	})
	return out, err
}

// Rotate gives a candidate a new password (the old one stops working at the
// gateway's next login check) and returns it.
func Rotate(st *store.Store, session, candidate string) (secret.Value, error) {
	l, err := newLogin()
	if err != nil {
		return secret.Value{}, err
	}
	if err := st.Update(func(tx *store.Tx) error { return tx.Put(bucket+"/"+session, loginKey(candidate), l) }); err != nil {
		return secret.Value{}, fmt.Errorf("gateway login %s: %w", candidate, err)
	}
	return secret.New(l.Password), nil
}

// errBadLogin is a wrong password or an unknown login: the gateway answers
// both the same way, so a login cannot be probed.
var errBadLogin = errors.New("wrong login or password")

// dummyHash is compared against when the login is unknown, so an unknown
// login takes as long as a wrong password. Made on first use: a bcrypt at
// package init would slow every tailab command, not only the gateway.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("tailab-no-such-login"), bcryptCost)
	return h
})

// verifier checks candidates' passwords against the stored bcrypt hashes.
// It remembers, per login, the hash a password last matched and an HMAC of
// that password under a random key of this process (never written
// anywhere): the same password again — the candidate's next terminal, a
// reconnection — is checked in microseconds instead of one more bcrypt, the
// largest part of a login. A wrong password always costs a bcrypt; a
// rotation changes the stored hash, so the old password finds nothing
// remembered and is refused at once.
type verifier struct {
	key   [32]byte
	mu    sync.Mutex
	seen  map[string]verified    // login → the last match
	locks map[string]*sync.Mutex // login → held during its bcrypt
	// cpus lets as many bcrypts run at once as there are processors: when
	// all the candidates log in at the same instant, they are checked in
	// turn, first come first served, instead of all sharing the processors
	// and all finishing at the end (12 at once on 2 cores: every candidate
	// waited for all twelve; in turn, the median one waits for half).
	cpus chan struct{}
}

type verified struct{ hash, mac []byte }

func newVerifier() *verifier {
	v := &verifier{seen: map[string]verified{}, locks: map[string]*sync.Mutex{}, cpus: make(chan struct{}, runtime.GOMAXPROCS(0))}
	_, _ = rand.Read(v.key[:])
	return v
}

func (v *verifier) mac(login, password string) []byte {
	h := hmac.New(sha256.New, v.key[:])
	h.Write([]byte(login + "\x00" + password))
	return h.Sum(nil)
}

// compare is bcrypt.CompareHashAndPassword, at most one per processor at a
// time.
func (v *verifier) compare(hash []byte, password string) error {
	v.cpus <- struct{}{}
	defer func() { <-v.cpus }()
	return bcrypt.CompareHashAndPassword(hash, []byte(password))
}

// check verifies a candidate's password against the stored hash.
func (v *verifier) check(st *store.Store, session, candidate, password string) error {
	var l Login
	err := st.View(func(tx *store.Tx) error { return tx.Get(bucket+"/"+session, loginKey(candidate), &l) })
	if errors.Is(err, store.ErrNotFound) {
		_ = v.compare(dummyHash(), password)
		return errBadLogin
	}
	if err != nil {
		return fmt.Errorf("read login: %w", err)
	}
	mac := v.mac(candidate, password)
	v.mu.Lock()
	lock, ok := v.locks[candidate] // a login that exists: the map stays bounded
	if !ok {
		lock = &sync.Mutex{}
		v.locks[candidate] = lock
	}
	v.mu.Unlock()
	// One check at a time per login: a candidate's terminals opened at once
	// cost one bcrypt, the others find it remembered.
	lock.Lock()
	defer lock.Unlock()
	v.mu.Lock()
	last, ok := v.seen[candidate]
	v.mu.Unlock()
	if ok && bytes.Equal(last.hash, l.Hash) && hmac.Equal(last.mac, mac) {
		return nil
	}
	if v.compare(l.Hash, password) != nil {
		return errBadLogin
	}
	v.mu.Lock()
	v.seen[candidate] = verified{hash: l.Hash, mac: mac}
	v.mu.Unlock()
	return nil
}
