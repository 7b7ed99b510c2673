package gateway

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// pool keeps the gateway's SSH connections to the machines, one per
// candidate and machine, shared by that candidate's terminals (SSH and browser):
// a candidate's second terminal opens a channel on the connection the first
// one made instead of a new handshake and login on the machine. Connections
// are never shared between candidates. A connection carries at most
// maxChannels channels (below OpenSSH's MaxSessions, 10); past that another
// is dialed. One left without channels is closed after idle.
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

const maxChannels = 8

func newPool(idle time.Duration) *pool { return &pool{conns: map[string][]*pooled{}, idle: idle} }

// open opens a session channel on the candidate's machine, on a pooled
// connection or a new one made with dial; release gives the slot back.
func (p *pool) open(candidate string, m *machine, dial func(*machine) (*ssh.Client, error)) (ch ssh.Channel, reqs <-chan *ssh.Request, release func(), err error) {
	key := fmt.Sprintf("%s/%s/%s/%s", candidate, m.Name, m.Mgmt, m.User)
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
	cl, err := dial(m)
	if err != nil {
		pc.err = err
		p.drop(key, pc)
		close(pc.ready)
		return nil, err
	}
	pc.cl = cl
	close(pc.ready)
	go func() { _ = cl.Wait(); p.drop(key, pc) }() // the machine went away (reset, down)
	return pc, nil
}

// release gives a slot back; the last one starts the idle timer.
func (p *pool) release(key string, pc *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.users--
	if pc.users > 0 || pc.dead {
		return
	}
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
