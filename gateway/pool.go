package gateway

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// pool keeps the gateway's SSH connections to the machines, per candidate
// and machine, for that candidate's terminals (SSH and browser): a terminal
// takes a connection left idle by an earlier one (a reconnection, the next
// terminal) or dialed ahead while its password was checked (prewarm)
// instead of a new handshake and login on the machine. Connections are
// never shared between candidates. A connection carries at most
// maxChannels terminals at once; past that another is dialed. One left
// without channels is closed after idle.
type pool struct {
	mu    sync.Mutex
	conns map[string][]*pooled // candidate/machine/address/user → connections
	idle  time.Duration
}

// pooled is one connection and how many channels use it.
type pooled struct {
	cl    *ssh.Client   // set before ready is closed
	err   error         // the dial's, likewise
	ready chan struct{} // closed once dialed
	users int
	dead  bool
	timer *time.Timer
}

// maxChannels is one: terminals open at the same time each have their own
// connection, as direct SSH sessions would. Four terminals of a candidate
// on one connection (channels of it) wrote their keystrokes under one lock
// of the connection and were served by one sshd process on the machine:
// when the writer holding the lock or that process lost its processor, all
// four waited, and the gateway's keystroke round trip at p99 was 30 ms
// above the direct one (measured: a keystroke's write on the machine's
// connection took 32 ms at p99 shared, 0.4 ms not shared, same run
// conditions; docs/benchmarks.md).
const maxChannels = 1

func newPool(idle time.Duration) *pool { return &pool{conns: map[string][]*pooled{}, idle: idle} }

// open opens a session channel on the candidate's machine, on a pooled
// connection or a new one made with dial; release gives the slot back.
func (p *pool) open(candidate string, m *machine, dial func(*machine) (*ssh.Client, error)) (ch ssh.Channel, reqs <-chan *ssh.Request, release func(), err error) {
	key := poolKey(candidate, m)
	for range 2 { // a pooled connection found dead is dropped, then once more
		pc, err := p.acquire(key, m, dial)
		if err != nil {
			return nil, nil, nil, err
		}
		ch, reqs, err := pc.cl.OpenChannel("session", nil)
		if err == nil {
			return ch, reqs, func() { p.release(key, pc) }, nil
		}
		if _, refused := err.(*ssh.OpenChannelError); refused {
			p.release(key, pc) // the machine said no (its own limits): not the connection's fault
			return nil, nil, nil, err
		}
		p.drop(key, pc)
	}
	return nil, nil, nil, fmt.Errorf("machine %s: the connection keeps failing", m.Name)
}

// has reports whether a connection to the candidate's machine is pooled
// (or being dialed).
func (p *pool) has(candidate, machine string) bool {
	prefix := candidate + "/" + machine + "/"
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.conns {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// warm dials a connection to the candidate's machine if none is pooled,
// and leaves it idle (closed after the idle time if no terminal takes it).
// A terminal opened meanwhile takes it and waits for the dial.
func (p *pool) warm(candidate string, m *machine, dial func(*machine) (*ssh.Client, error)) {
	key := poolKey(candidate, m)
	p.mu.Lock()
	if len(p.conns[key]) > 0 {
		p.mu.Unlock()
		return
	}
	pc := &pooled{ready: make(chan struct{})}
	p.conns[key] = append(p.conns[key], pc)
	p.mu.Unlock()
	if p.dial(key, pc, m, dial) != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc.users == 0 && pc.timer == nil && !pc.dead {
		p.idleLater(key, pc)
	}
}

func poolKey(candidate string, m *machine) string {
	return fmt.Sprintf("%s/%s/%s/%s", candidate, m.Name, m.Mgmt, m.User)
}

// acquire takes a slot on a live connection with room, or dials one
// (outside the lock: a slow machine delays only its own candidate's
// terminals). Terminals opened at the same instant wait for the same dial.
func (p *pool) acquire(key string, m *machine, dial func(*machine) (*ssh.Client, error)) (*pooled, error) {
	p.mu.Lock()
	for _, pc := range p.conns[key] {
		if !pc.dead && pc.users < maxChannels {
			pc.users++
			if pc.timer != nil {
				pc.timer.Stop()
				pc.timer = nil
			}
			p.mu.Unlock()
			<-pc.ready
			if pc.err != nil {
				return nil, pc.err
			}
			return pc, nil
		}
	}
	pc := &pooled{users: 1, ready: make(chan struct{})}
	p.conns[key] = append(p.conns[key], pc)
	p.mu.Unlock()
	if err := p.dial(key, pc, m, dial); err != nil {
		return nil, err
	}
	return pc, nil
}

// dial makes pc's connection (pc is in the pool, not ready yet).
func (p *pool) dial(key string, pc *pooled, m *machine, dial func(*machine) (*ssh.Client, error)) error {
	cl, err := dial(m)
	if err != nil {
		pc.err = err
		p.drop(key, pc)
		close(pc.ready)
		return err
	}
	pc.cl = cl
	close(pc.ready)
	go func() { _ = cl.Wait(); p.drop(key, pc) }() // the machine went away (reset, down)
	return nil
}

// release gives a slot back; the last one starts the idle timer.
func (p *pool) release(key string, pc *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.users--
	if pc.users > 0 || pc.dead {
		return
	}
	p.idleLater(key, pc)
}

// idleLater closes pc after the idle time unless a terminal takes it
// (p.mu held).
func (p *pool) idleLater(key string, pc *pooled) {
	pc.timer = time.AfterFunc(p.idle, func() {
		p.mu.Lock()
		idle := pc.users == 0 && !pc.dead
		p.mu.Unlock()
		if idle {
			p.drop(key, pc)
		}
	})
}

// drop closes a connection and forgets it.
func (p *pool) drop(key string, pc *pooled) {
	p.mu.Lock()
	pc.dead = true
	list := p.conns[key]
	for i, x := range list {
		if x == pc {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.conns, key)
	} else {
		p.conns[key] = list
	}
	p.mu.Unlock()
	if pc.cl != nil {
		pc.cl.Close()
	}
}

// close closes every connection (the gateway stops).
func (p *pool) close() {
	p.mu.Lock()
	var all []*pooled
	keys := map[*pooled]string{}
	for k, list := range p.conns {
		for _, pc := range list {
			all = append(all, pc)
			keys[pc] = k
		}
	}
	p.mu.Unlock()
	for _, pc := range all {
		<-pc.ready
		p.drop(keys[pc], pc)
	}
}
