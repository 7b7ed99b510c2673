package gateway

import (
	"log/slog"
	"sync"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// auditor appends entries to the session's audit log, and the recordings'
// index entries to the session's results, from a single goroutine, in
// batches: a flood of failed logins, or 48 terminals opening at once, costs
// one transaction per batch, not one sync of the state file per entry (the
// store takes one operation at a time: logins' reads waited behind those
// syncs), and no entry is dropped (a full queue blocks the connection that
// logs, not the gateway).
type auditor struct {
	st      *provision.State
	results *results.Store
	session string
	log     *slog.Logger
	queue   chan auditItem
	done    chan struct{}
	once    sync.Once
	pending sync.WaitGroup // entries queued and not yet written
	mu      sync.RWMutex   // add holds it shared; close exclusively
	closed  bool
}

// auditItem is an audit entry or a recording's index entry.
type auditItem struct {
	entry provision.AuditEntry
	rec   *checks.Recording
}

func newAuditor(st *provision.State, rs *results.Store, session string, log *slog.Logger) *auditor {
	a := &auditor{st: st, results: rs, session: session, log: log, queue: make(chan auditItem, 1024), done: make(chan struct{})}
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
	a.push(auditItem{entry: e})
}

// index queues a recording's index entry.
func (a *auditor) index(r checks.Recording) { a.push(auditItem{rec: &r}) }

func (a *auditor) push(it auditItem) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed { // a connection still ending after Close: written at once, not lost
		a.write([]auditItem{it})
		return
	}
	a.pending.Add(1)
	a.queue <- it
}

// write writes a batch: its audit entries, then its recordings.
func (a *auditor) write(batch []auditItem) {
	var entries []provision.AuditEntry
	var recs []checks.Recording
	for _, it := range batch {
		if it.rec != nil {
			recs = append(recs, *it.rec)
		} else {
			entries = append(entries, it.entry)
		}
	}
	if len(entries) > 0 {
		if err := a.st.Audit(a.session, entries...); err != nil {
			a.log.Error("audit log", "err", err, "entries", len(entries))
		}
	}
	if len(recs) > 0 {
		if err := a.results.SaveRecording(a.session, recs...); err != nil {
			a.log.Error("recording index", "err", err, "entries", len(recs))
		}
	}
}

// flush waits until every queued entry is written.
func (a *auditor) flush() { a.pending.Wait() }

func (a *auditor) run() {
	defer close(a.done)
	for it := range a.queue {
		batch := []auditItem{it}
	more:
		for len(batch) < 512 {
			select {
			case it, ok := <-a.queue:
				if !ok {
					break more
				}
				batch = append(batch, it)
			default:
				break more
			}
		}
		a.write(batch)
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
