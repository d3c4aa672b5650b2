package kafkatest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Network is an in-memory network: listeners and dials joined by
// net.Pipe. A goroutine blocked on a pipe is durably blocked in
// testing/synctest's sense, where one blocked on a socket is not, so a
// cluster, HTTP servers and clients on a Network can all run inside a
// synctest bubble, on its fake clock. Create the Network, and everything on
// it, inside the bubble.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*listener
}

// NewNetwork returns an empty network.
func NewNetwork() *Network { return &Network{listeners: map[string]*listener{}} }

// Listen returns a listener on a fresh address of n; the arguments, those
// of net.Listen, are ignored.
func (n *Network) Listen(string, string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := &listener{addr: addr(fmt.Sprintf("127.0.0.1:%d", 10000+len(n.listeners))),
		conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[string(l.addr)] = l
	return l, nil
}

// Dial connects to the listener of n at address, as net.Dialer.DialContext
// would.
func (n *Network) Dial(ctx context.Context, _, address string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[address]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "mem", Err: fmt.Errorf("nothing listens on %s", address)}
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: "mem", Err: net.ErrClosed}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// HTTPServer starts an HTTP server for h on n, closed when the test ends.
// Its URL is reached by HTTPClient's clients.
func (n *Network) HTTPServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	l, _ := n.Listen("tcp", "")
	s := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// HTTPClient returns a client that dials only n. Its idle connections are
// closed when the test ends, so no goroutine outlives a synctest bubble.
func (n *Network) HTTPClient(t testing.TB) *http.Client {
	tr := &http.Transport{DialContext: n.Dial}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

type listener struct {
	addr      addr
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }

type addr string

func (addr) Network() string  { return "mem" }
func (a addr) String() string { return string(a) }
