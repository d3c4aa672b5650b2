package worker

import "testing"

func TestDisplayURLDropsCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pw@a.example.com/x?token=abc", "https://a.example.com/x"},
		{"https://a.example.com/users/{{ userId }}", "https://a.example.com/users/{{ userId }}"},
	}
	for _, tt := range tests {
		if got := DisplayURL(tt.in); got != tt.want {
			t.Errorf("DisplayURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
