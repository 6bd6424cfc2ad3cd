package pgtest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a loopback TCP proxy between a test's database client and PostgreSQL whose faults
// the test controls: Cut closes every connection and refuses new ones (a database that is
// down), Stall keeps connections open and accepts new ones but forwards nothing (a database or
// network that hangs), Restore forwards again. It serves until the test ends.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

type proxyMode int

const (
	forward proxyMode = iota
	cut
	stall
)

// NewProxy listens on 127.0.0.1 and forwards each connection to target (host:port).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.Cut() // closes every connection, which ends every copy
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = cut
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Stall stops forwarding, both ways, on every connection, and accepts new ones that get no
// answer, until Restore. Bytes read meanwhile are held, as a stalled network's buffers would.
func (p *Proxy) Stall() { p.set(stall) }

// Restore forwards again.
func (p *Proxy) Restore() { p.set(forward) }

func (p *Proxy) set(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

func (p *Proxy) current() proxyMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// track records c as open, unless the proxy is cut (then it closes c and reports false).
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == cut {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed at the end of the test
		}
		if !p.track(client) {
			continue // refused
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

func (p *Proxy) serve(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(server) {
		client.Close()
		return
	}
	var both sync.WaitGroup
	both.Go(func() { p.copy(server, client) })
	both.Go(func() { p.copy(client, server) })
	both.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// copy forwards src to dst, holding what it reads while the proxy is stalled; it closes both
// when either side ends.
func (p *Proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.current() == stall {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if p.current() == cut {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a closed connection
			return
		}
	}
}
