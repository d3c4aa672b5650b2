package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// status is what the HTTP endpoints show about one worker: the sources of
// its state, read at each request.
type status struct {
	started  time.Time
	brokers  []string
	topics   []string
	group    string
	source   string // where the rules come from
	store    *rules.Store
	registry *prometheus.Registry
	// ready returns nil once the worker is consuming with its rules loaded,
	// else why not.
	ready func() error
	// partitions returns the member's partitions.
	partitions func() []processor.PartitionStatus
	// breakers and oldest return each action's circuit state and the record
	// time of its oldest event not done (see gaugeSources); nil: none.
	breakers func() map[string]int
	oldest   func() map[string]time.Time
}

// snapshot is the status page's data, served as /status.json. Counters are
// totals since the worker started; the page turns them into rates between
// two snapshots, so the server keeps no history.
type snapshot struct {
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
	Partitions []partitionInfo `json:"partitions"`
	Actions    []actionInfo    `json:"actions"`
}

type partitionInfo struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	EndOffset int64  `json:"end_offset"` // -1: no fetch answered yet
	Committed int64  `json:"committed"`  // the offset the next commit carries; -1: none known
	Lag       *int64 `json:"lag"`        // null: not known yet
	Pending   int    `json:"pending"`
	// OldestPending is the age of the oldest record not done, in seconds;
	// null when none is pending.
	OldestPending *float64 `json:"oldest_pending_seconds"`
}

type actionInfo struct {
	ID            string             `json:"id"`
	Enabled       bool               `json:"enabled"`
	Method        string             `json:"method"`
	URL           string             `json:"url"` // without query or user info
	Batch         string             `json:"batch"`
	Signed        bool               `json:"signed"`
	Matched       float64            `json:"matched"`
	Delivered     float64            `json:"delivered"`
	DeadLettered  float64            `json:"dead_lettered"`
	Parked        float64            `json:"parked"`
	Requests      map[string]float64 `json:"requests"` // by status class: 2xx, 4xx, 5xx, error
	Circuit       int                `json:"circuit"`  // 0 closed, 1 half-open, 2 open
	OldestPending float64            `json:"oldest_undelivered_seconds"`
	BatchSize     histogram          `json:"batch_size"`
	Duration      histogram          `json:"request_seconds"` // one request
	Latency       histogram          `json:"latency_seconds"` // record timestamp to delivered
}

// histogram is a Prometheus histogram's cumulative state: Counts[i] events
// at most Bounds[i], Count in all (the +Inf bucket).
type histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// snapshot reads the worker's state now.
func (st *status) snapshot() snapshot {
	now := time.Now()
	m := gatherByLabel(st.registry)
	s := snapshot{
		Version: version, Now: now, Started: st.started, Ready: true,
		Group: st.group, Brokers: st.brokers, Topics: st.topics, Rules: st.source,
		Partitions: []partitionInfo{}, Actions: []actionInfo{},
	}
	if err := st.ready(); err != nil {
		s.Ready, s.NotReady = false, err.Error()
	}
	for _, v := range m.values("hookstream_events_consumed_total", "") {
		s.Consumed += v
	}
	for _, p := range st.partitions() {
		info := partitionInfo{Topic: p.Topic, Partition: p.Partition, EndOffset: p.HighWatermark,
			Committed: p.Committable, Pending: p.Pending}
		if n, ok := partitionLag(p); ok {
			info.Lag = &n
			s.Lag += n
		}
		if !p.Oldest.IsZero() {
			age := max(0, now.Sub(p.Oldest).Seconds())
			info.OldestPending = &age
		}
		s.Partitions = append(s.Partitions, info)
	}
	var states map[string]int
	var pending map[string]time.Time
	if st.breakers != nil {
		states = st.breakers()
	}
	if st.oldest != nil {
		pending = st.oldest()
	}
	for _, a := range st.store.Load().Actions {
		info := actionInfo{
			ID: a.ID, Enabled: isEnabled(a), Method: a.Method, URL: displayURL(a.URL),
			Batch: "one event per request", Signed: len(a.Secrets) > 0,
			Matched:      m.sum("hookstream_events_matched_total", a.ID),
			Delivered:    m.sum("hookstream_events_delivered_total", a.ID),
			DeadLettered: m.sum("hookstream_events_dead_lettered_total", a.ID),
			Parked:       m.sum("hookstream_events_parked_total", a.ID),
			Requests:     m.values("hookstream_deliveries_total", a.ID),
			Circuit:      states[a.ID],
			BatchSize:    m.histogram("hookstream_batch_size", a.ID),
			Duration:     m.histogram("hookstream_delivery_duration_seconds", a.ID),
			Latency:      m.histogram("hookstream_event_latency_seconds", a.ID),
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

// displayURL drops the query and user info, which may hold credentials.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		raw, _, _ = strings.Cut(raw, "?")
		return raw
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	s, _ := url.PathUnescape(u.String()) // keep {{ templates }} readable
	return s
}

// families holds one gathering of the registry: per metric name, its
// series by action label ("" when it has none).
type families map[string]map[string][]*dto.Metric

func gatherByLabel(reg *prometheus.Registry) families {
	out := families{}
	fams, _ := reg.Gather() // a partial result is still worth showing
	for _, f := range fams {
		byAction := map[string][]*dto.Metric{}
		for _, m := range f.GetMetric() {
			byAction[label(m, "action")] = append(byAction[label(m, "action")], m)
		}
		out[f.GetName()] = byAction
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sum adds the values of a counter's series of one action.
func (f families) sum(name, action string) float64 {
	var v float64
	for _, m := range f[name][action] {
		v += m.GetCounter().GetValue()
	}
	return v
}

// values returns a counter's series of one action by their other label
// (topic, code, ...), summed over the rest.
func (f families) values(name, action string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f[name][action] {
		var key string
		for _, l := range m.GetLabel() {
			if l.GetName() != "action" {
				key = l.GetValue()
			}
		}
		out[key] += m.GetCounter().GetValue()
	}
	return out
}

// histogram returns an action's histogram; empty bounds when it has
// recorded nothing yet.
func (f families) histogram(name, action string) histogram {
	h := histogram{Bounds: []float64{}, Counts: []uint64{}}
	for _, m := range f[name][action] {
		ph := m.GetHistogram()
		h.Count += ph.GetSampleCount()
		h.Sum += ph.GetSampleSum()
		for i, b := range ph.GetBucket() {
			if i == len(h.Bounds) {
				h.Bounds = append(h.Bounds, b.GetUpperBound())
				h.Counts = append(h.Counts, 0)
			}
			h.Counts[i] += b.GetCumulativeCount()
		}
	}
	return h
}
