package sink

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Egress is the delivery network policy: which hosts hookstream may send
// to (delivery.allowed_hosts) and whether private networks are refused
// (delivery.deny_private_networks). The zero value allows everything.
type Egress struct {
	// AllowedHosts, when not empty, are the only hosts requests may go
	// to; "*.example.com" allows every subdomain of example.com.
	AllowedHosts []string
	// DenyPrivateNetworks refuses loopback, private, link-local and other
	// non-public addresses (see RefusePrivate).
	DenyPrivateNetworks bool
}

// EgressClient returns the HTTP client that enforces the delivery policy
// e, or nil when there is none, leaving the sink its default client. A
// refused endpoint fails with ErrEndpointRefused, which the sink
// dead-letters as rejected without sending anything. Anything else that
// sends on an action's behalf (a token fetch, say) should use
// EgressTransport so that the same policy holds.
//
// The host list is checked on the request's URL. The address check runs in
// the dialer's Control hook, after DNS resolution, on the very address being
// connected to, so a name that resolves (or re-resolves) to a private address
// is refused too. With deny_private_networks the proxy settings of the
// environment are ignored: through a proxy, the address dialled would be the
// proxy's and the check would be meaningless.
func EgressClient(e Egress) *http.Client {
	if len(e.AllowedHosts) == 0 && !e.DenyPrivateNetworks {
		return nil
	}
	return &http.Client{Transport: EgressTransport(e)}
}

// EgressTransport returns a transport that enforces e, with keep-alive
// pools sized like the sink's default client.
func EgressTransport(e Egress) http.RoundTripper { return egressTransport(e, nil) }

// egressTransport is EgressTransport with an action's own TLS settings
// (nil: the defaults).
func egressTransport(e Egress, tc *tls.Config) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	if tc != nil {
		t.TLSClientConfig = tc.Clone()
	}
	if e.DenyPrivateNetworks {
		t.Proxy = nil
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: RefusePrivate}
		t.DialContext = dialer.DialContext
	}
	if len(e.AllowedHosts) > 0 {
		return allowHosts{hosts: e.AllowedHosts, next: t}
	}
	return t
}

// allowHosts refuses requests to hosts not on the list. An entry "*.example.com"
// allows every subdomain of example.com (not example.com itself).
type allowHosts struct {
	hosts []string
	next  http.RoundTripper
}

func (a allowHosts) RoundTrip(r *http.Request) (*http.Response, error) {
	host := strings.ToLower(strings.TrimSuffix(r.URL.Hostname(), "."))
	for _, h := range a.hosts {
		h = strings.ToLower(h)
		if host == h || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return a.next.RoundTrip(r)
		}
	}
	if r.Body != nil {
		r.Body.Close() // a RoundTripper must close the body, even on error
	}
	return nil, fmt.Errorf("host %s is not in delivery.allowed_hosts: %w", host, ErrEndpointRefused)
}

// RefusePrivate is a net.Dialer ControlContext hook refusing loopback, private,
// link-local (which holds the cloud metadata address 169.254.169.254),
// carrier-grade NAT, multicast, unspecified and reserved addresses, and
// IPv6 addresses that embed one of those IPv4 addresses.
func RefusePrivate(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: unparsable address: %w", network, address, ErrEndpointRefused)
	}
	if ip := ap.Addr().Unmap(); isPrivate(ip) {
		return fmt.Errorf("dial %s: private address (delivery.deny_private_networks): %w", ip, ErrEndpointRefused)
	}
	return nil
}

// notPublic are ranges that are not public beyond what netip classifies:
// "this network", carrier-grade NAT, IETF protocol assignments,
// benchmarking, reserved and broadcast, and IPv6 site-local (deprecated,
// still routed inside some networks). Read-only.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("fec0::/10"),
}

// IPv6 prefixes that carry an IPv4 address a gateway may forward to: NAT64
// (64:ff9b::/96, the address in the last 4 bytes), 6to4 (2002::/16, in
// bytes 2 to 5) and IPv4-compatible addresses (::/96, deprecated).
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	compatible = netip.MustParsePrefix("::/96")
)

func isPrivate(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip), compatible.Contains(ip):
			return isPrivate(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return isPrivate(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return false
}
