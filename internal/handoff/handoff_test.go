package handoff

import (
	"context"
	"testing"
)

func TestWithdrawn(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	live, stop := context.WithCancel(context.Background())
	defer stop()
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"nil", nil, false},
		{"unmarked and live", live, false},
		{"unmarked and ended", ended, false},
		{"marked and live", Withdrawable(live), false},
		{"marked and ended", Withdrawable(ended), true},
		{"derived from a marked one that ended", context.WithoutCancel(Withdrawable(ended)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Withdrawn(tt.ctx); got != tt.want {
				t.Errorf("Withdrawn = %v, want %v", got, tt.want)
			}
		})
	}
}
