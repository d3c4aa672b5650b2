package main

import (
	"testing"
)

func TestURLPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://crm.example.com/api/contacts", "/api/contacts"},
		{"https://a.example.com/users/{{ userId }}/pageviews", "/users/{{ userId }}/pageviews"},
		{"https://a.example.com", "/"},
		{"https://a.example.com?x=1", "/?x=1"},
		{"not a url", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := urlPath(tt.in); got != tt.want {
				t.Errorf("urlPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskedHeader(t *testing.T) {
	written := map[string]string{"Authorization": "Bearer ${env:TOKEN}", "X-Team": "growth", "X-Both": "${env:A}:${env:B}"}
	tests := []struct{ name, want string }{
		{"Authorization", "Bearer ***"},
		{"authorization", "Bearer ***"},
		{"X-Team", "growth"},
		{"X-Both", "***:***"},
		{"X-Unknown", "***"},
	}
	for _, tt := range tests {
		if got := maskedHeader(written, tt.name); got != tt.want {
			t.Errorf("maskedHeader(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseTopics(t *testing.T) {
	got, err := parseTopics([]string{"events:8", "a,b:2"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"events": 8, "a": 1, "b": 2}
	if len(got) != len(want) {
		t.Fatalf("parseTopics = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("topic %s: %d partitions, want %d", k, got[k], v)
		}
	}
	for _, bad := range []string{"", "x:", "x:0", "x:-1", "a b", "x:99999"} {
		if _, err := parseTopics([]string{bad}); err == nil {
			t.Errorf("parseTopics(%q) succeeded, want an error", bad)
		}
	}
}
