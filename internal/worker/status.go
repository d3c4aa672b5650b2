package worker

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
)

// sources are the parts whose state the gauges and the status page read,
// each time they are read.
type sources struct {
	partitions func() []processor.PartitionStatus
	breakers   func() map[string]int       // action id → 0 closed, 1 half-open, 2 open
	oldest     func() map[string]time.Time // action id → record time of its oldest event not done
	inHand     func() processor.InHand     // what the member holds against its bounds; nil: nothing shown
	store      *rules.Store
	readings   func() telemetry.Readings
	dead       func() []DeadLetterInfo // the latest dead letters, newest first
	// ready returns nil once the worker is consuming with its rules
	// loaded, else why not.
	ready func() error
	now   func() time.Time // for the gauges' ages; default time.Now
}

// status is what the HTTP endpoints show about one worker.
type status struct {
	version string
	started time.Time
	brokers []string
	topics  []string
	group   string
	source  string // where the rules come from
	src     sources
}

// Status is the status page's data, served as /status.json. Counters are
// totals since the worker started; the page turns them into rates between
// two snapshots, so the server keeps no history.
type Status struct {
	Version    string          `json:"version"`
	Now        time.Time       `json:"now"`
	Started    time.Time       `json:"started"`
	Ready      bool            `json:"ready"`
	NotReady   string          `json:"not_ready,omitempty"`
	Group      string          `json:"group"`
	Brokers    []string        `json:"brokers"`
	Topics     []string        `json:"topics"`
	Rules      string          `json:"rules"`
	Consumed   float64         `json:"consumed"`
	Lag        int64           `json:"lag"` // over the partitions whose lag is known
	InHand     InHandInfo      `json:"in_hand"`
	Partitions []PartitionInfo `json:"partitions"`
	Actions    []ActionInfo    `json:"actions"`
	// DeadLetters are the latest dead letters this worker wrote, newest
	// first.
	DeadLetters []DeadLetterInfo `json:"dead_letters"`
}

// InHandInfo is what the worker holds against max_buffered_events and
// max_buffered_bytes: records fetched and not yet done, and their values'
// bytes (and the most of those since start).
type InHandInfo struct {
	Events    int   `json:"events"`
	MaxEvents int   `json:"max_events"`
	Bytes     int64 `json:"bytes"`
	MaxBytes  int64 `json:"max_bytes"`
	PeakBytes int64 `json:"peak_bytes"`
}

// PartitionInfo is one partition the worker owns.
type PartitionInfo struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	EndOffset int64  `json:"end_offset"` // -1: not known yet
	Committed int64  `json:"committed"`  // the offset the next commit carries; -1: none known
	Lag       *int64 `json:"lag"`        // null: not known yet
	Pending   int    `json:"pending"`
	// OldestPending is the age of the oldest record not done, in seconds;
	// null when none is pending.
	OldestPending *float64 `json:"oldest_pending_seconds"`
}

// ActionInfo is one action of the current rules.
type ActionInfo struct {
	ID            string              `json:"id"`
	Enabled       bool                `json:"enabled"`
	Method        string              `json:"method"`
	URL           string              `json:"url"` // without query or user info
	Batch         string              `json:"batch"`
	Signed        bool                `json:"signed"`
	Matched       float64             `json:"matched"`
	Delivered     float64             `json:"delivered"`
	DeadLettered  float64             `json:"dead_lettered"`
	Parked        float64             `json:"parked"`
	Requests      map[string]float64  `json:"requests"` // by status class: 2xx, 4xx, 5xx, error
	Circuit       int                 `json:"circuit"`  // 0 closed, 1 half-open, 2 open
	OldestPending float64             `json:"oldest_undelivered_seconds"`
	BatchSize     telemetry.Histogram `json:"batch_size"`
	Duration      telemetry.Histogram `json:"request_seconds"` // one request
	Latency       telemetry.Histogram `json:"latency_seconds"` // record timestamp to delivered
}

// snapshot reads the worker's state now.
func (st *status) snapshot() Status {
	now := time.Now()
	src := st.src
	r := src.readings()
	s := Status{
		Version: st.version, Now: now, Started: st.started, Ready: true,
		Group: st.group, Brokers: st.brokers, Topics: st.topics, Rules: st.source,
		Consumed: r.Consumed, Partitions: []PartitionInfo{}, Actions: []ActionInfo{},
		DeadLetters: []DeadLetterInfo{},
	}
	if src.dead != nil {
		s.DeadLetters = src.dead()
	}
	if err := src.ready(); err != nil {
		s.Ready, s.NotReady = false, err.Error()
	}
	if src.inHand != nil {
		h := src.inHand()
		s.InHand = InHandInfo{Events: h.Events, MaxEvents: h.MaxEvents, Bytes: h.Bytes, MaxBytes: h.MaxBytes, PeakBytes: h.PeakBytes}
	}
	for _, p := range src.partitions() {
		info := PartitionInfo{Topic: p.Topic, Partition: p.Partition, EndOffset: p.HighWatermark,
			Committed: p.Committable, Pending: p.Pending}
		if n, ok := p.Lag(); ok {
			info.Lag = &n
			s.Lag += n
		}
		if !p.Oldest.IsZero() {
			age := max(0, now.Sub(p.Oldest).Seconds())
			info.OldestPending = &age
		}
		s.Partitions = append(s.Partitions, info)
	}
	states, pending := src.breakers(), src.oldest()
	for _, a := range src.store.Load().Actions {
		ar := r.Action(a.ID)
		info := ActionInfo{
			ID: a.ID, Enabled: *a.Enabled, Method: a.Method, URL: DisplayURL(a.URL),
			Batch: "one event per request", Signed: len(a.Secrets) > 0,
			Matched: ar.Matched, Delivered: ar.Delivered, DeadLettered: ar.DeadLettered, Parked: ar.Parked,
			Requests: ar.Requests, Circuit: states[a.ID],
			BatchSize: ar.BatchSize, Duration: ar.Duration, Latency: ar.Latency,
		}
		if a.Batch != nil {
			info.Batch = fmt.Sprintf("up to %d, wait %s", a.Batch.Size, a.Batch.Wait)
		}
		if t, ok := pending[a.ID]; ok {
			info.OldestPending = max(0, now.Sub(t).Seconds())
		}
		s.Actions = append(s.Actions, info)
	}
	return s
}

// DisplayURL drops the query and user info, which may hold credentials.
func DisplayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		raw, _, _ = strings.Cut(raw, "?")
		return raw
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	s, _ := url.PathUnescape(u.String()) // keep {{ templates }} readable
	return s
}
