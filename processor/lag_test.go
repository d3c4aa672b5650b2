package processor

import "testing"

func TestPartitionStatusLag(t *testing.T) {
	tests := []struct {
		name  string
		p     PartitionStatus
		lag   int64
		known bool
	}{
		{"no fetch yet", PartitionStatus{HighWatermark: -1, Committable: -1}, 0, false},
		{"behind", PartitionStatus{HighWatermark: 100, Committable: 40, Pending: 60}, 60, true},
		{"caught up", PartitionStatus{HighWatermark: 100, Committable: 100}, 0, true},
		{"idle since assignment", PartitionStatus{HighWatermark: 100, Committable: -1}, 0, true},
		{"first record not done", PartitionStatus{HighWatermark: 100, Committable: -1, Pending: 3}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lag, known := tt.p.Lag()
			if lag != tt.lag || known != tt.known {
				t.Errorf("Lag() = %d, %v; want %d, %v", lag, known, tt.lag, tt.known)
			}
		})
	}
}

func TestPartitionStatusBehind(t *testing.T) {
	tests := []struct {
		name string
		p    PartitionStatus
		end  int64
		want int64
	}{
		{"nothing known", PartitionStatus{Committable: -1}, 10, 10},
		{"behind", PartitionStatus{Committable: 4}, 10, 6},
		{"past the end asked for", PartitionStatus{Committable: 12}, 10, 0},
	}
	for _, tt := range tests {
		if got := tt.p.Behind(tt.end); got != tt.want {
			t.Errorf("%s: Behind(%d) = %d, want %d", tt.name, tt.end, got, tt.want)
		}
	}
}
