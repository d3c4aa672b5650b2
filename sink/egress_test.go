package sink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestEgressClientPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name    string
		policy  Egress
		url     string
		refused bool
	}{
		{"allowed host", Egress{AllowedHosts: []string{"127.0.0.1"}}, srv.URL, false},
		{"host not allowed", Egress{AllowedHosts: []string{"hooks.example.com"}}, srv.URL, true},
		{"loopback denied", Egress{DenyPrivateNetworks: true}, srv.URL, true},
		{"localhost name denied after DNS", Egress{DenyPrivateNetworks: true},
			fmt.Sprintf("http://localhost:%d/", srv.Listener.Addr().(*net.TCPAddr).Port), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := EgressClient(tt.policy)
			resp, err := cl.Post(tt.url, "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, ErrEndpointRefused); got != tt.refused {
				t.Errorf("POST %s: err %v, refused %v, want refused %v", tt.url, err, got, tt.refused)
			}
			if !tt.refused && err != nil {
				t.Errorf("POST %s: %v", tt.url, err)
			}
		})
	}
	if EgressClient(Egress{}) != nil {
		t.Error("no policy should leave the sink its default client (nil)")
	}
}

func TestAllowHostsWildcard(t *testing.T) {
	a := allowHosts{hosts: []string{"*.partner.example", "Exact.Example"}, next: http.DefaultTransport}
	tests := []struct {
		host    string
		allowed bool
	}{
		{"hooks.partner.example", true},
		{"a.b.partner.example", true},
		{"partner.example", false},
		{"evilpartner.example", false},
		{"exact.example", true},
		{"exact.example.", true},
		{"other.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "http://"+tt.host+":1/", nil)
			_, err := a.RoundTrip(req)
			if refused := errors.Is(err, ErrEndpointRefused); refused == tt.allowed {
				t.Errorf("host %s: err %v, want allowed %v", tt.host, err, tt.allowed)
			}
		})
	}
}

func TestIsPrivate(t *testing.T) {
	tests := []struct {
		ip      string
		private bool
	}{
		{"127.0.0.1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"100.64.0.1", true},
		{"0.0.0.0", true},
		{"::1", true},
		{"fd00:ec2::254", true},
		{"fe80::1", true},
		{"::ffff:10.0.0.1", true},
		{"8.8.8.8", false},
		{"203.0.113.7", false},
		{"2001:4860:4860::8888", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := isPrivate(netip.MustParseAddr(tt.ip).Unmap()); got != tt.private {
				t.Errorf("isPrivate(%s) = %v, want %v", tt.ip, got, tt.private)
			}
		})
	}
}

// TestPrivateAddressEdgeCases covers addresses beyond the obvious private
// ranges: reserved IPv4 ranges, and IPv6 forms (NAT64, 6to4,
// IPv4-compatible, IPv4-mapped) that carry a private or metadata IPv4
// address a gateway could forward to.
func TestPrivateAddressEdgeCases(t *testing.T) {
	tests := []struct {
		ip      string
		private bool
	}{
		{"0.1.2.3", true},
		{"192.0.0.170", true},
		{"198.18.0.1", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		{"fec0::1", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"64:ff9b::808:808", false},  // NAT64 of 8.8.8.8
		{"2002:a9fe:a9fe::1", true},  // 6to4 of 169.254.169.254
		{"2002:0a00:0001::1", true},  // 6to4 of 10.0.0.1
		{"2002:0808:0808::1", false}, // 6to4 of 8.8.8.8
		{"::a9fe:a9fe", true},        // IPv4-compatible 169.254.169.254
		{"::ffff:169.254.169.254", true},
		{"198.51.100.7", false},
		{"2606:4700:4700::1111", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			err := RefusePrivate(context.Background(), "tcp", netip.AddrPortFrom(ip, 443).String(), nil)
			if refused := errors.Is(err, ErrEndpointRefused); refused != tt.private {
				t.Errorf("RefusePrivate(%s) = %v, want refused %v", tt.ip, err, tt.private)
			}
		})
	}
}
