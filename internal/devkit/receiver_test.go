package devkit

import "testing"

func TestCountEvents(t *testing.T) {
	tests := []struct {
		body  string
		n     int
		batch bool
	}{
		{`{"a":1}`, 1, false},
		{`[{"a":1},{"a":2}]`, 2, true},
		{` [ ]`, 0, true},
	}
	for _, tt := range tests {
		n, batch := countEvents([]byte(tt.body))
		if n != tt.n || batch != tt.batch {
			t.Errorf("countEvents(%s) = %d, %v; want %d, %v", tt.body, n, batch, tt.n, tt.batch)
		}
	}
}
