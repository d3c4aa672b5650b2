package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/sink"
)

func TestDeliveryClientPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name    string
		policy  config.Delivery
		url     string
		refused bool
	}{
		{"allowed host", config.Delivery{AllowedHosts: []string{"127.0.0.1"}}, srv.URL, false},
		{"host not allowed", config.Delivery{AllowedHosts: []string{"hooks.example.com"}}, srv.URL, true},
		{"loopback denied", config.Delivery{DenyPrivateNetworks: true}, srv.URL, true},
		{"localhost name denied after DNS", config.Delivery{DenyPrivateNetworks: true},
			fmt.Sprintf("http://localhost:%d/", srv.Listener.Addr().(*net.TCPAddr).Port), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := deliveryClient(tt.policy)
			resp, err := cl.Post(tt.url, "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, sink.ErrEndpointRefused); got != tt.refused {
				t.Errorf("POST %s: err %v, refused %v, want refused %v", tt.url, err, got, tt.refused)
			}
			if !tt.refused && err != nil {
				t.Errorf("POST %s: %v", tt.url, err)
			}
		})
	}
	if deliveryClient(config.Delivery{}) != nil {
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
			if refused := errors.Is(err, sink.ErrEndpointRefused); refused == tt.allowed {
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
