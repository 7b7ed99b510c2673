package provision

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/user"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/labs"
)

const (
	bucketSessions = "sessions"
	bucketMachines = "machines" // machines/<session>: candidate/machine → MachineState
	bucketSecrets  = "secrets"  // secrets/<session>: candidate/name → value
	bucketAudit    = "audit"    // audit/<session>: seq → AuditEntry
)

// State is the session store of a data dir.
type State struct{ st *store.Store }

// OpenState opens the state of a data dir.
func OpenState(dataDir string) (*State, error) {
	st, err := store.Open(dataDir)
	if err != nil {
		return nil, err
	}
	return &State{st: st}, nil
}

// Store is the state's handle on the file, for the packages that keep
// buckets of their own in it (the gateway): one handle per process queues
// its reads and writes on one mutex, where two handles on the same file
// would wait on each other's file lock, which bbolt polls every 50 ms.
func (s *State) Store() *store.Store { return s.st }

// ErrNoSession is returned for an unknown session.
var ErrNoSession = errors.New("no such session")

// Session returns a session by name.
func (s *State) Session(name string) (*Session, error) {
	var sess Session
	err := s.st.View(func(tx *store.Tx) error { return tx.Get(bucketSessions, name, &sess) })
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("session %q: %w (see `tailab session list`)", name, ErrNoSession)
	}
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

// Sessions lists every session, by name.
func (s *State) Sessions() ([]Session, error) {
	var out []Session
	err := s.st.View(func(tx *store.Tx) error {
		keys, err := tx.Keys(bucketSessions, "")
		if err != nil {
			return err
		}
		for _, k := range keys {
			var sess Session
			if err := tx.Get(bucketSessions, k, &sess); err != nil {
				return err
			}
			out = append(out, sess)
		}
		return nil
	})
	return out, err
}

// SaveSession writes a session.
func (s *State) SaveSession(sess *Session) error {
	return s.st.Update(func(tx *store.Tx) error { return tx.Put(bucketSessions, sess.Name, sess) })
}

// DeleteSession removes a session with its machines, secrets and audit log
// (its gradings stay: package results owns them).
func (s *State) DeleteSession(name string) error {
	return s.st.Update(func(tx *store.Tx) error {
		for _, b := range []string{bucketMachines, bucketSecrets, "faults"} {
			if err := tx.DeleteBucket(b + "/" + name); err != nil {
				return err
			}
		}
		return tx.Delete(bucketSessions, name)
	})
}

// PutMachine records a machine's state.
func (s *State) PutMachine(m MachineState) error {
	return s.PutMachines([]MachineState{m})
}

// PutMachines records several machine states in one transaction. A state
// without a TLS pin or SSH host key keeps the one recorded before (a provider
// sets them on the state it reports when it pinned them: a machine kept as it
// was reports none).
func (s *State) PutMachines(ms []MachineState) error {
	if len(ms) == 0 {
		return nil
	}
	now := time.Now().UTC()
	return s.st.Update(func(tx *store.Tx) error {
		for _, m := range ms {
			m.UpdatedAt = now
			if m.TLSPin == "" || m.SSHHostKey == "" {
				var old MachineState
				if err := tx.Get(bucketMachines+"/"+m.Session, m.Key(), &old); err == nil {
					m.TLSPin = cmp.Or(m.TLSPin, old.TLSPin)
					m.SSHHostKey = cmp.Or(m.SSHHostKey, old.SSHHostKey)
				}
			}
			m.SSHHostKey = cmp.Or(m.SSHHostKey, m.FirstSeenHostKey)
			m.TLSPin = cmp.Or(m.TLSPin, m.FirstSeenTLSPin)
			if err := tx.Put(bucketMachines+"/"+m.Session, m.Key(), m); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteMachines forgets the machines of a candidate ("" for all).
func (s *State) DeleteMachines(session, candidate string) error {
	return s.st.Update(func(tx *store.Tx) error {
		prefix := ""
		if candidate != "" {
			prefix = candidate + "/"
		}
		keys, err := tx.Keys(bucketMachines+"/"+session, prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(bucketMachines+"/"+session, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Machines lists a session's recorded machines, by candidate then machine.
func (s *State) Machines(session string) ([]MachineState, error) {
	var out []MachineState
	err := s.st.View(func(tx *store.Tx) error {
		keys, err := tx.Keys(bucketMachines+"/"+session, "")
		if err != nil {
			return err
		}
		for _, k := range keys {
			var m MachineState
			if err := tx.Get(bucketMachines+"/"+session, k, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// Secrets returns a candidate's secrets, generating and storing those declared
// `generate` or `ssh_key` on first use, reading `env` ones from the environment.
func (s *State) Secrets(session string, lab *labs.Lab, candidate string) (map[string]secret.Value, error) {
	all, err := s.SecretsFor(session, lab, []string{candidate})
	return all[candidate], err
}

// SecretsFor returns the secrets of several candidates (by candidate id), read and
// generated in one transaction: one fsync for a whole session, not one per candidate.
func (s *State) SecretsFor(session string, lab *labs.Lab, candidates []string) (map[string]map[string]secret.Value, error) {
	all := make(map[string]map[string]secret.Value, len(candidates))
	err := s.st.Update(func(tx *store.Tx) error {
		for _, candidate := range candidates {
			out, err := candidateSecrets(tx, session, lab, candidate)
			if err != nil {
				return err
			}
			all[candidate] = out
		}
		return nil
	})
	return all, err
}

func candidateSecrets(tx *store.Tx, session string, lab *labs.Lab, candidate string) (map[string]secret.Value, error) {
	out := map[string]secret.Value{}
	err := func() error {
		for name, def := range lab.Secrets {
			if name == ConsoleSecret {
				return fmt.Errorf("secret name %q is reserved for console passwords", name)
			}
			key := candidate + "/" + name
			var v string
			switch {
			case def.Value != "":
				v = def.Value
			case def.Env != "":
				var ok bool
				if v, ok = os.LookupEnv(def.Env); !ok {
					return fmt.Errorf("secret %q: environment variable %s is not set", name, def.Env)
				}
			default:
				if err := tx.Get(bucketSecrets+"/"+session, key, &v); err == nil {
					break
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				var err error
				if def.SSHKey {
					v, err = newSSHKey()
				} else {
					v, err = newPassword(max(def.Length, 16))
				}
				if err != nil {
					return fmt.Errorf("secret %q: %w", name, err)
				}
				if err := tx.Put(bucketSecrets+"/"+session, key, v); err != nil {
					return err
				}
			}
			out[name] = secret.New(v)
		}
		for _, m := range lab.Machines {
			if m.Kind == labs.KindVM { // only VMs have a graphics console
				v, err := consolePassword(tx, session, candidate)
				if err != nil {
					return err
				}
				out[ConsoleSecret] = v
				break
			}
		}
		return nil
	}()
	return out, err
}

// ConsoleSecret is the name under which Secrets returns a candidate's console
// password (for labs with VMs). It is tailab's, not the lab's: a lab may not
// declare a secret of that name.
const ConsoleSecret = "@console"

// ConsolePassword returns a candidate's console password, generating and
// storing it on first use: 8 characters, since VNC authentication uses only 8.
// It opens that candidate's consoles, and no one else's.
func (s *State) ConsolePassword(session, candidate string) (secret.Value, error) {
	var v secret.Value
	err := s.st.Update(func(tx *store.Tx) error {
		var err error
		v, err = consolePassword(tx, session, candidate)
		return err
	})
	return v, err
}

func consolePassword(tx *store.Tx, session, candidate string) (secret.Value, error) {
	key := candidate + "/" + ConsoleSecret
	var v string
	if err := tx.Get(bucketSecrets+"/"+session, key, &v); err == nil {
		return secret.New(v), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return secret.Value{}, err
	}
	v, err := newConsolePassword()
	if err != nil {
		return secret.Value{}, fmt.Errorf("console password: %w", err)
	}
	if err := tx.Put(bucketSecrets+"/"+session, key, v); err != nil {
		return secret.Value{}, err
	}
	return secret.New(v), nil
}

// newConsolePassword returns 8 characters a candidate can copy from paper
// without ambiguity.
func newConsolePassword() (string, error) { return secret.Random(8, secret.Unambiguous) }

// newPassword returns a random password that passes Windows' complexity rules.
func newPassword(n int) (string, error) {
	const sets = "ABCDEFGHJKLMNPQRSTUVWXYZ" + "abcdefghijkmnopqrstuvwxyz" + "23456789" + "-_.+"
	classes := []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "-_.+"}
	b := make([]byte, n)
	for i := range b {
		set := sets
		if i < len(classes) {
			set = classes[i]
		}
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[k.Int64()]
	}
	return string(b), nil
}

// newSSHKey returns a new ed25519 private key in OpenSSH PEM form.
func newSSHKey() (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "tailab")
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(blk)), nil
}

// PublicKey returns the authorized_keys line of an OpenSSH private key.
func PublicKey(privatePEM secret.Value) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(privatePEM.Reveal()))
	if err != nil {
		return "", fmt.Errorf("parse private key: %w", err)
	}
	return string(ssh.MarshalAuthorizedKey(signer.PublicKey())), nil
}

// FaultRecord says which faults were applied to a candidate's lab, and when:
// `up` applies a candidate's faults once, not at every reconcile.
type FaultRecord struct {
	Faults []string  `json:"faults"`
	At     time.Time `json:"at"`
	// Pending are the faults that were present (or could not be read) when
	// the candidate's machines were taken down: the next up re-applies each
	// of them that the new machines lack (exam.RestorePending).
	Pending []string `json:"pending,omitempty"`
	// PendingBy is the action that will lose the pending faults ("down+up"
	// when empty; "replace srv" for a drifted machine up replaces) and
	// PendingMachines the machines it re-creates (none: all the candidate's):
	// only their faults are read again after it.
	PendingBy       string   `json:"pending_by,omitempty"`
	PendingMachines []string `json:"pending_machines,omitempty"`
}

// Faults returns the faults recorded for a candidate (ok false: none applied yet).
func (s *State) Faults(session, candidate string) (FaultRecord, bool, error) {
	var r FaultRecord
	err := s.st.View(func(tx *store.Tx) error { return tx.Get("faults/"+session, candidate, &r) })
	if errors.Is(err, store.ErrNotFound) {
		return r, false, nil
	}
	return r, err == nil, err
}

// RecordFaults records the faults applied to a candidate's lab.
func (s *State) RecordFaults(session, candidate string, r FaultRecord) error {
	return s.st.Update(func(tx *store.Tx) error { return tx.Put("faults/"+session, candidate, r) })
}

// AuditEntry is one action in a session's audit log.
type AuditEntry struct {
	Time      time.Time `json:"time"`
	User      string    `json:"user"`
	Action    string    `json:"action"` // up, down, snapshot, revert, reset, grade
	Candidate string    `json:"candidate,omitempty"`
	Machine   string    `json:"machine,omitempty"`
	Detail    string    `json:"detail,omitempty"` // in English, for the admins (filled from Facts when empty)
	// Facts are the detail typed, what the jury's French is rendered from
	// (nil in entries recorded before them, and in free-text ones).
	Facts *audit.Facts `json:"facts,omitempty"`
}

// Audit appends entries to a session's audit log, in one transaction (the
// gateway writes a burst of login attempts at once).
func (s *State) Audit(session string, es ...AuditEntry) error {
	return s.st.Update(func(tx *store.Tx) error {
		for _, e := range es {
			if e.Time.IsZero() {
				e.Time = time.Now().UTC()
			}
			if e.User == "" {
				e.User = CurrentUser()
			}
			if e.Detail == "" && e.Facts != nil {
				e.Detail = e.Facts.English(e.Action)
			}
			seq, err := tx.NextSeq(bucketAudit + "/" + session)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketAudit+"/"+session, fmt.Sprintf("%012d", seq), e); err != nil {
				return err
			}
		}
		return nil
	})
}

// CurrentUser is who runs tailab, for the audit log and the jury's entries: the user behind sudo,
// else $USER, else the account of the process's uid.
func CurrentUser() string {
	for _, k := range []string{"SUDO_USER", "USER"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// AuditLog returns a session's audit log, oldest first.
func (s *State) AuditLog(session string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.st.View(func(tx *store.Tx) error {
		keys, err := tx.Keys(bucketAudit+"/"+session, "")
		if err != nil {
			return err
		}
		for _, k := range keys {
			var e AuditEntry
			if err := tx.Get(bucketAudit+"/"+session, k, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
