// Package store keeps tailab's state — sessions, the machines of each candidate,
// generated secrets, grading results and the audit log — in one bbolt file under
// the data directory. Every write is one transaction, so a kill -9 mid-write
// leaves the previous state intact. The file is opened per operation, so several
// tailab processes (up, status, grade --watch, serve) can share a data dir.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the store's file inside the data dir.
const FileName = "state.db"

// ErrNotFound is returned for a missing session or key.
var ErrNotFound = errors.New("not found")

// Store is a handle on a data dir's state file.
type Store struct {
	path    string
	timeout time.Duration
	mu      sync.Mutex // one open at a time within the process (flock is per open file)
}

// Open returns the store of a data dir, creating the dir (0700) if needed.
func Open(dataDir string) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return &Store{path: filepath.Join(dataDir, FileName), timeout: 30 * time.Second}, nil
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

func (s *Store) open(readOnly bool) (*bolt.DB, error) {
	if readOnly {
		if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: s.timeout, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("state file %s is locked by another tailab process for more than %s", s.path, s.timeout)
		}
		return nil, fmt.Errorf("open state file %s: %w", s.path, err)
	}
	return db, nil
}

// Update runs fn in one read-write transaction.
func (s *Store) Update(fn func(tx *Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	db, err := s.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(btx *bolt.Tx) error { return fn(&Tx{btx}) })
}

// View runs fn in one read-only transaction. A store that was never written
// reads as empty.
func (s *Store) View(fn func(tx *Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	db, err := s.open(true)
	if err != nil {
		return err
	}
	if db == nil {
		return fn(&Tx{})
	}
	defer db.Close()
	return db.View(func(btx *bolt.Tx) error { return fn(&Tx{btx}) })
}

// Tx is a transaction on the store. Keys are paths ("sessions", "s1/machines").
type Tx struct{ tx *bolt.Tx }

func (t *Tx) bucket(path string, create bool) (*bolt.Bucket, error) {
	if t.tx == nil {
		return nil, nil
	}
	var b *bolt.Bucket
	for i, name := range strings.Split(path, "/") {
		var err error
		switch {
		case i == 0 && create:
			b, err = t.tx.CreateBucketIfNotExists([]byte(name))
		case i == 0:
			b = t.tx.Bucket([]byte(name))
		case create:
			b, err = b.CreateBucketIfNotExists([]byte(name))
		default:
			b = b.Bucket([]byte(name))
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", path, err)
		}
		if b == nil {
			return nil, nil
		}
	}
	return b, nil
}

// Put stores v as JSON under bucket/key.
func (t *Tx) Put(bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	b, err := t.bucket(bucket, true)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// Get decodes bucket/key into v; ErrNotFound when absent.
func (t *Tx) Get(bucket, key string, v any) error {
	b, err := t.bucket(bucket, false)
	if err != nil {
		return err
	}
	if b == nil {
		return ErrNotFound
	}
	data := b.Get([]byte(key))
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete removes bucket/key (no error when absent).
func (t *Tx) Delete(bucket, key string) error {
	b, err := t.bucket(bucket, false)
	if err != nil || b == nil {
		return err
	}
	return b.Delete([]byte(key))
}

// DeleteBucket removes a bucket and everything under it (no error when absent).
func (t *Tx) DeleteBucket(path string) error {
	parent, name := "", path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	var err error
	if parent == "" {
		if t.tx == nil || t.tx.Bucket([]byte(name)) == nil {
			return nil
		}
		err = t.tx.DeleteBucket([]byte(name))
	} else {
		b, e := t.bucket(parent, false)
		if e != nil || b == nil || b.Bucket([]byte(name)) == nil {
			return e
		}
		err = b.DeleteBucket([]byte(name))
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// Keys lists the keys of a bucket with the given prefix, sorted.
func (t *Tx) Keys(bucket, prefix string) ([]string, error) {
	b, err := t.bucket(bucket, false)
	if err != nil || b == nil {
		return nil, err
	}
	var out []string
	c := b.Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		if v != nil {
			out = append(out, string(k))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Buckets lists the names of a bucket's sub-buckets, sorted.
func (t *Tx) Buckets(bucket string) ([]string, error) {
	b, err := t.bucket(bucket, false)
	if err != nil || b == nil {
		return nil, err
	}
	var out []string
	err = b.ForEach(func(k, v []byte) error {
		if v == nil {
			out = append(out, string(k))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// NextSeq returns the next sequence number of a bucket (for logs).
func (t *Tx) NextSeq(bucket string) (uint64, error) {
	b, err := t.bucket(bucket, true)
	if err != nil {
		return 0, err
	}
	return b.NextSequence()
}
