package processor

import "testing"

func TestPollSizes(t *testing.T) {
	tests := []struct {
		name        string
		events      int
		most, least int
	}{
		{"default", 100_000, 10_000, 10_000},
		{"small budget", 1000, 250, 125},
		{"tiny budget", 3, 1, 1},
		{"one record", 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			most, least := pollSizes(bounds{events: tt.events, bytes: 1 << 30})
			if most != tt.most || least != tt.least {
				t.Fatalf("pollSizes(%d) = %d, %d; want %d, %d", tt.events, most, least, tt.most, tt.least)
			}
		})
	}
}

func TestMayPoll(t *testing.T) {
	b := bounds{events: 1000, bytes: 10_000}
	tests := []struct {
		name  string
		in    usage
		least int
		fetch int64
		want  bool
	}{
		{"empty", usage{}, 100, 1000, true},
		{"room for both", usage{events: 900, bytes: 9000}, 100, 1000, true},
		{"records short", usage{events: 901, bytes: 100}, 100, 1000, false},
		{"bytes short", usage{events: 1, bytes: 9001}, 100, 1000, false},
		// A record larger than the whole bound is still taken when
		// nothing else is in hand, so large events never deadlock.
		{"nothing in hand, fetch larger than the bound", usage{}, 1, 50_000, true},
		{"one record over the bound in hand", usage{events: 1, bytes: 20_000}, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mayPoll(tt.in, b, tt.least, tt.fetch); got != tt.want {
				t.Fatalf("mayPoll(%+v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPollCount(t *testing.T) {
	b := bounds{events: 1000, bytes: 100_000}
	tests := []struct {
		name string
		in   usage
		avg  int64
		want int
	}{
		{"capped by a poll", usage{}, 0, 250},
		{"capped by the room in records", usage{events: 900}, 0, 100},
		{"never zero", usage{events: 1000}, 0, 1},
		{"capped by the room in bytes", usage{events: 10, bytes: 60_000}, 1000, 40},
		{"records small enough: bytes do not cap", usage{events: 10, bytes: 60_000}, 100, 250},
		{"a record larger than the room: still one", usage{}, 200_000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pollCount(tt.in, b, 250, tt.avg); got != tt.want {
				t.Fatalf("pollCount(%+v, avg %d) = %d, want %d", tt.in, tt.avg, got, tt.want)
			}
		})
	}
}

func TestPartitionLimits(t *testing.T) {
	b := bounds{events: 1000, bytes: 100_000}
	tests := []struct {
		name    string
		sources int
		used    usage
		want    limits
	}{
		{"one partition: the whole budget", 1, usage{events: 900}, limits{open: 1000, bytes: 100_000, span: 4000}},
		{"none counted as one", 0, usage{}, limits{open: 1000, bytes: 100_000, span: 4000}},
		{"below half the budget: no shares", 8, usage{events: 499, bytes: 49_999}, limits{open: 1000, bytes: 100_000, span: 500}},
		{"half the records in use: shares", 8, usage{events: 500}, limits{open: 250, bytes: 25_000, span: 500}},
		{"half the bytes in use: shares", 8, usage{events: 1, bytes: 50_000}, limits{open: 250, bytes: 25_000, span: 500}},
		{"two partitions: at most half each", 2, usage{events: 600}, limits{open: 500, bytes: 50_000, span: 2000}},
		{"many partitions: at least a poll", 400, usage{events: 600}, limits{open: 125, bytes: 500, span: 125}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := partitionLimits(b, 125, tt.sources, tt.used); got != tt.want {
				t.Fatalf("partitionLimits(%d sources, %+v) = %+v, want %+v", tt.sources, tt.used, got, tt.want)
			}
		})
	}
}

func TestGate(t *testing.T) {
	lim := limits{open: 10, bytes: 1000, span: 40}
	type step struct {
		op   string // "handOff", "done" or "close"
		in   usage
		want bool // paused now (handOff), resumed now (done, close)
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"within limits", []step{
			{"handOff", usage{events: 10, bytes: 1000, span: 40}, false},
			{"done", usage{}, false},
		}},
		{"over records, resumed at half", []step{
			{"handOff", usage{events: 11, bytes: 100, span: 11}, true},
			{"handOff", usage{events: 20, bytes: 200, span: 20}, false}, // already paused
			{"done", usage{events: 6, bytes: 60, span: 6}, false},
			{"done", usage{events: 5, bytes: 50, span: 5}, true},
			{"done", usage{events: 4, bytes: 40, span: 4}, false},
		}},
		{"over bytes", []step{
			{"handOff", usage{events: 2, bytes: 1001, span: 2}, true},
			{"done", usage{events: 1, bytes: 501, span: 1}, false},
			{"done", usage{events: 1, bytes: 500, span: 1}, true},
		}},
		{"over span: waits for the commit point too", []step{
			{"handOff", usage{events: 1, bytes: 10, span: 41}, true},
			{"done", usage{events: 0, bytes: 0, span: 21}, false},
			{"done", usage{events: 0, bytes: 0, span: 20}, true},
		}},
		{"close lifts a pause", []step{
			{"handOff", usage{events: 11, span: 11}, true},
			{"close", usage{}, true},
			{"close", usage{}, false},
		}},
		{"close without a pause", []step{
			{"close", usage{}, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g gate
			for i, st := range tt.steps {
				var got bool
				switch st.op {
				case "handOff":
					got = g.handedOff(st.in, lim)
				case "done":
					got = g.done(st.in)
				case "close":
					got = g.closed()
				}
				if got != st.want {
					t.Fatalf("step %d: %s with %+v = %v, want %v", i, st.op, st.in, got, st.want)
				}
			}
		})
	}
}

func TestFetchSizes(t *testing.T) {
	tests := []struct {
		name           string
		bytes          int64
		partitions     int
		fetch, perPart int32
	}{
		{"default bound, 8 partitions", 256 << 20, 8, 8 << 20, 512 << 10},
		{"default bound, 64 partitions", 256 << 20, 64, 8 << 20, 512 << 10},
		{"default bound, 256 partitions: shares shrink", 256 << 20, 256, 8 << 20, 256 << 10},
		{"none assigned yet", 256 << 20, 0, 8 << 20, 512 << 10},
		{"small bound: at least a batch", 1 << 20, 1, 256 << 10, 512 << 10},
		{"small bound, many partitions", 1 << 20, 100, 256 << 10, 256 << 10},
		{"huge bound: capped", 8 << 30, 8, 16 << 20, 512 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetch, part := fetchSizes(bounds{events: 100_000, bytes: tt.bytes}, tt.partitions)
			if fetch != tt.fetch || part != tt.perPart {
				t.Fatalf("fetchSizes(%d bytes, %d partitions) = %d, %d; want %d, %d", tt.bytes, tt.partitions, fetch, part, tt.fetch, tt.perPart)
			}
		})
	}
}
