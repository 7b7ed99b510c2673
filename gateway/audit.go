package gateway

import (
	"log/slog"
	"sync"

	"github.com/tailab/tailab/provision"
)

// auditor appends entries to the session's audit log from a single goroutine,
// in batches: a flood of failed logins costs one transaction per batch, not
// one fsync per attempt, and no attempt is dropped (a full queue blocks the
// connection that logs, not the gateway).
type auditor struct {
	st      *provision.State
	session string
	log     *slog.Logger
	queue   chan provision.AuditEntry
	done    chan struct{}
	once    sync.Once
	pending sync.WaitGroup // entries queued and not yet written
	mu      sync.RWMutex   // add holds it shared; close exclusively
	closed  bool
}

func newAuditor(st *provision.State, session string, log *slog.Logger) *auditor {
	a := &auditor{st: st, session: session, log: log, queue: make(chan provision.AuditEntry, 1024), done: make(chan struct{})}
	go a.run()
	return a
}

// add queues an entry. User is who acted: the login tried (a candidate),
// truncated so a hostile login cannot bloat the log.
func (a *auditor) add(e provision.AuditEntry) {
	if len(e.User) > 40 {
		e.User = e.User[:40] + "…"
	}
	if e.Time.IsZero() {
		e.Time = now().UTC()
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed { // a connection still ending after Close: written at once, not lost
		if err := a.st.Audit(a.session, e); err != nil {
			a.log.Error("audit log", "err", err)
		}
		return
	}
	a.pending.Add(1)
	a.queue <- e
}

// flush waits until every queued entry is written.
func (a *auditor) flush() { a.pending.Wait() }

func (a *auditor) run() {
	defer close(a.done)
	for e := range a.queue {
		batch := []provision.AuditEntry{e}
	more:
		for len(batch) < 512 {
			select {
			case e, ok := <-a.queue:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		if err := a.st.Audit(a.session, batch...); err != nil {
			a.log.Error("audit log", "err", err, "entries", len(batch))
		}
		for range batch {
			a.pending.Done()
		}
	}
}

// close writes what is queued and stops.
func (a *auditor) close() {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.queue)
		a.mu.Unlock()
	})
	<-a.done
}
