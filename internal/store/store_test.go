package store

import (
	"errors"
	"testing"
)

func TestPutGetKeysDelete(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A store never written reads as empty.
	if err := s.View(func(tx *Tx) error {
		var v string
		if err := tx.Get("a", "k", &v); !errors.Is(err, ErrNotFound) {
			t.Errorf("get on empty store: %v, want ErrNotFound", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error {
		for _, k := range []string{"c02/b", "c01/a", "c01/b", "c10/a"} {
			if err := tx.Put("machines/s1", k, k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		want   int
	}{{"", 4}, {"c01/", 2}, {"c1", 1}, {"zz", 0}}
	for _, tt := range tests {
		_ = s.View(func(tx *Tx) error {
			keys, err := tx.Keys("machines/s1", tt.prefix)
			if err != nil || len(keys) != tt.want {
				t.Errorf("keys(%q) = %v, %v; want %d", tt.prefix, keys, err, tt.want)
			}
			return nil
		})
	}
	// A failed transaction writes nothing.
	boom := errors.New("boom")
	if err := s.Update(func(tx *Tx) error {
		_ = tx.Put("machines/s1", "c03/x", "x")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("update error %v", err)
	}
	_ = s.View(func(tx *Tx) error {
		var v string
		if err := tx.Get("machines/s1", "c03/x", &v); !errors.Is(err, ErrNotFound) {
			t.Errorf("rolled-back write is visible: %v %q", err, v)
		}
		return nil
	})
	if err := s.Update(func(tx *Tx) error { return tx.DeleteBucket("machines/s1") }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(func(tx *Tx) error {
		keys, _ := tx.Keys("machines/s1", "")
		if len(keys) != 0 {
			t.Errorf("bucket not deleted: %v", keys)
		}
		return nil
	})
}
