package libvirt

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Readiness pushed by the machine: a container's /srv is a dir of the host
// (the machine's private dir), and what the machine writes there when it may
// be ready is heard at once through inotify instead of found by polling: its
// sshd's pid file (templates/lxc/sshd_config: written once sshd listens) and
// the mark its init leaves once its services are started (.tailab-started,
// templates/lxc/init.sh). Each such write is a probe at once
// (readiness.WaitPushed): the probe still decides, a write by the machine's
// root gains nothing but an earlier probe. A daemon on another host (its
// containers' /srv are not here) is polled as before.

// pushWatch is the provider's one inotify instance: a watch per machine dir.
type pushWatch struct {
	f     *os.File
	mu    sync.Mutex
	chans map[int32]*pushed
}

// pushed is one machine's watch: its channel, and what ends the span of its
// first word (timings: "pushed", from the watch to that word).
type pushed struct {
	ch    chan struct{}
	first func()
}

// pushedReady returns what tells that the container sp may be ready, and
// what stops listening; nil when nothing can be heard (not a container, a
// remote daemon, no inotify).
func (p *Provider) pushedReady(sp *machineSpec) (<-chan struct{}, func()) {
	if sp.Type != "lxc" || !p.localDaemon() {
		return nil, func() {}
	}
	w, err := p.root().pushWatcher()
	if err != nil {
		return nil, func() {}
	}
	dir := filepath.Join(sp.Dir, "srv")
	wd, err := unix.InotifyAddWatch(int(w.f.Fd()), dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_ONLYDIR)
	if err != nil {
		return nil, func() {}
	}
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.chans[int32(wd)] = &pushed{ch: ch, first: p.timed("pushed", sp.Domain)}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.chans, int32(wd))
		w.mu.Unlock()
		_, _ = unix.InotifyRmWatch(int(w.f.Fd()), uint32(wd))
	}
}

// localDaemon reports whether the LXC daemon runs on this host (its
// containers' dirs are ours to watch).
func (p *Provider) localDaemon() bool {
	u, err := url.Parse(p.cfg.LXC)
	return err == nil && u.Host == "" && !strings.HasPrefix(p.cfg.LXC, "test:")
}

// pushWatcher opens the inotify instance on first use and reads it until the
// provider closes.
func (p *Provider) pushWatcher() (*pushWatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.push != nil {
		return p.push, nil
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	w := &pushWatch{f: os.NewFile(uintptr(fd), "inotify"), chans: map[int32]*pushed{}}
	go w.read()
	p.push = w
	return w, nil
}

// pushFiles are the files whose writes tell that a machine may be ready;
// nothing else in its /srv counts (libvirt makes the mount point /srv/lib
// there as it starts the container, before its init runs).
var pushFiles = map[string]bool{".sshd.pid": true, ".tailab-started": true}

// read hands each event to its watch's channel (one pending at most).
func (w *pushWatch) read() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.f.Close()
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if !pushFiles[name] {
				continue
			}
			w.mu.Lock()
			pu := w.chans[ev.Wd]
			if pu != nil && pu.first != nil {
				pu.first()
				pu.first = nil
			}
			w.mu.Unlock()
			if pu != nil {
				select {
				case pu.ch <- struct{}{}:
				default:
				}
			}
		}
	}
}

// close stops the watcher.
func (w *pushWatch) close() {
	if w != nil {
		w.f.Close()
	}
}
