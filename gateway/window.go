package gateway

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/store"
)

// Window is the exam window of a session: candidates log in between Opens and
// Closes. A zero Opens means not opened yet; a zero Closes, no close planned.
type Window struct {
	Opens  time.Time `json:"opens,omitzero"`
	Closes time.Time `json:"closes,omitzero"`
}

// Phase is where now falls in the window.
type Phase int

// Phases of the exam window.
const (
	NotOpen Phase = iota // not opened yet (or opening later)
	Open
	Closed
)

// At returns the window's phase at t.
func (w Window) At(t time.Time) Phase {
	switch {
	case w.Opens.IsZero() || t.Before(w.Opens):
		return NotOpen
	case !w.Closes.IsZero() && !t.Before(w.Closes):
		return Closed
	}
	return Open
}

// Refusal is the French message a candidate reads when the window refuses a
// login at t ("" when it is open). loc is the centre's time zone.
func (w Window) Refusal(t time.Time, loc *time.Location) string {
	switch w.At(t) {
	case NotOpen:
		if !w.Opens.IsZero() {
			return "L'examen n'est pas encore ouvert : ouverture le " + frenchTime(w.Opens, loc) + "."
		}
		return "L'examen n'est pas encore ouvert : attendez l'ouverture annoncée par le surveillant."
	case Closed:
		return "L'examen est terminé (fermeture le " + frenchTime(w.Closes, loc) + ") : la connexion n'est plus possible."
	}
	return ""
}

func frenchTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("02/01/2006 à 15:04:05")
}

const windowKey = "window"

// LoadWindow reads a session's exam window (zero when never opened).
func LoadWindow(st *store.Store, session string) (Window, error) {
	var w Window
	err := st.View(func(tx *store.Tx) error { return tx.Get(bucket+"/"+session, windowKey, &w) })
	if errors.Is(err, store.ErrNotFound) {
		return Window{}, nil
	}
	if err != nil {
		return w, fmt.Errorf("read the exam window: %w", err)
	}
	return w, nil
}

// OpenWindow opens the session's exam at t (now or later). Opening again
// after a close reopens it: the planned close is dropped.
func OpenWindow(st *store.Store, session string, t time.Time) (Window, error) {
	return updateWindow(st, session, func(w *Window) error {
		w.Opens = t.UTC()
		if !w.Closes.IsZero() && !w.Closes.After(t) {
			w.Closes = time.Time{}
		}
		return nil
	})
}

// CloseWindow closes the session's exam at t (now or later).
func CloseWindow(st *store.Store, session string, t time.Time) (Window, error) {
	return updateWindow(st, session, func(w *Window) error {
		if w.Opens.IsZero() {
			return errors.New("the exam was never opened (tailab session open first)")
		}
		if !t.After(w.Opens) {
			return fmt.Errorf("the close (%s) must come after the opening (%s)", t.UTC().Format(time.RFC3339), w.Opens.Format(time.RFC3339))
		}
		w.Closes = t.UTC()
		return nil
	})
}

func updateWindow(st *store.Store, session string, change func(*Window) error) (Window, error) {
	var w Window
	err := st.Update(func(tx *store.Tx) error {
		if err := tx.Get(bucket+"/"+session, windowKey, &w); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := change(&w); err != nil {
			return err
		}
		return tx.Put(bucket+"/"+session, windowKey, w)
	})
	return w, err
}

// String describes the window for the admin (English, local time).
func (w Window) String() string {
	s := "not opened (tailab session open)"
	if !w.Opens.IsZero() {
		s = "opens " + w.Opens.Local().Format("2006-01-02 15:04:05")
	}
	if !w.Closes.IsZero() {
		s += ", closes " + w.Closes.Local().Format("2006-01-02 15:04:05")
	}
	return s
}

// ParseAt reads a time as `session open|close --at` takes it: "" or "now",
// RFC 3339, HH:MM[:SS] today in the local time zone, or +DURATION from now.
func ParseAt(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			y, m, d := now.In(time.Local).Date()
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, time.Local), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want now, 2026-06-12T14:00:00+02:00, 14:00 or +3h)", s)
}

// OpenNow reads whether the session's exam window is open now, and the window
// as the admin reads it: the admin commands that lose candidates' work
// (down, reset) hold back while it is.
func OpenNow(dataDir, session string) (bool, string, error) {
	st, err := store.Open(dataDir)
	if err != nil {
		return false, "", err
	}
	w, err := LoadWindow(st, session)
	return err == nil && w.At(time.Now()) == Open, w.String(), err
}
