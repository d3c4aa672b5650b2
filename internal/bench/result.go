package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// Result is one benchmark run. Its JSON form (snake_case keys) is what
// `hookstream bench --json` prints; every field is always present.
//
// With several runs, raw and pipeline are each the fastest of its kind,
// ratio_to_raw compares those two, and runs lists every run.
type Result struct {
	Setup    Setup         `json:"setup"`
	Produce  Phase         `json:"produce"`
	Raw      Phase         `json:"raw"`
	Pipeline PipelinePhase `json:"pipeline"`
	Latency  LatencyPhase  `json:"latency"`
	Runs     []RunFigures  `json:"runs"`
}

// RunFigures are one run's raw and pipeline rates, for the runs list.
type RunFigures struct {
	RawEventsPerSecond      float64 `json:"raw_events_per_second"`
	PipelineEventsPerSecond float64 `json:"pipeline_events_per_second"`
	RatioToRaw              float64 `json:"ratio_to_raw"`
	CPUPerMillion           float64 `json:"pipeline_cpu_seconds_per_million_events"`
	PeakRSSBytes            int64   `json:"pipeline_peak_rss_bytes"`
	LoadAvg                 float64 `json:"load_average"`
}

// add records one run, keeping the fastest raw and pipeline phases.
func (r *Result) add(raw Phase, pp PipelinePhase) {
	f := RunFigures{
		RawEventsPerSecond:      raw.EventsPerSecond,
		PipelineEventsPerSecond: pp.EventsPerSecond,
		CPUPerMillion:           pp.CPUPerMillion,
		PeakRSSBytes:            pp.PeakRSSBytes,
		LoadAvg:                 pp.LoadAvgAtEnd,
	}
	if raw.EventsPerSecond > 0 {
		f.RatioToRaw = pp.EventsPerSecond / raw.EventsPerSecond
	}
	r.Runs = append(r.Runs, f)
	if raw.EventsPerSecond > r.Raw.EventsPerSecond {
		r.Raw = raw
	}
	if pp.EventsPerSecond > r.Pipeline.EventsPerSecond {
		r.Pipeline = pp
	}
	if r.Raw.EventsPerSecond > 0 {
		r.Pipeline.RatioToRaw = r.Pipeline.EventsPerSecond / r.Raw.EventsPerSecond
	}
}

// Setup says what was measured, where.
type Setup struct {
	Broker      string  `json:"broker"`   // "embedded" or the seed brokers
	Endpoint    string  `json:"endpoint"` // "loopback" or the URL
	Topic       string  `json:"topic"`
	Events      int     `json:"events"`
	EventBytes  int     `json:"event_bytes"` // average value size
	Partitions  int     `json:"partitions"`
	Match       float64 `json:"match"`   // share of events the default action wants
	Actions     int     `json:"actions"` // enabled actions
	Runs        int     `json:"runs"`
	CPUs        int     `json:"cpus"` // GOMAXPROCS
	GoVersion   string  `json:"go_version"`
	CPUIncludes string  `json:"cpu_includes"` // what else ran in this process
}

// Phase is one timed phase. CPU is this process's user+system time over the
// phase (getrusage), nothing subtracted; LoadAvg the 1-minute load average
// at its end, which shows how much else the machine was doing.
type Phase struct {
	Events           int64   `json:"events"`
	Bytes            int64   `json:"bytes"`
	Seconds          float64 `json:"seconds"`
	EventsPerSecond  float64 `json:"events_per_second"`
	MBPerSecond      float64 `json:"mb_per_second"` // of record values, 10^6 bytes
	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUPerMillion    float64 `json:"cpu_seconds_per_million_events"`
	LoadAvgAtStart   float64 `json:"load_average_start"`
	LoadAvgAtEnd     float64 `json:"load_average_end"`
	MatchedEvents    int64   `json:"matched_events"`
	DeliveredEvents  int64   `json:"delivered_events"` // counted by the loopback receiver; 0 with --url
	DeliveryRequests int64   `json:"delivery_requests"`
}

// PipelinePhase is the full pipeline draining the backlog.
type PipelinePhase struct {
	Phase
	// RatioToRaw is the pipeline's rate over the raw consumer's.
	RatioToRaw float64 `json:"ratio_to_raw"`
	// PeakRSSBytes is the process's peak resident set size during the
	// phase (since its start when the kernel cannot reset the peak);
	// RSSAtStartBytes the resident size when it began. With the embedded
	// broker both include the broker's copy of the backlog.
	PeakRSSBytes    int64 `json:"peak_rss_bytes"`
	RSSAtStartBytes int64 `json:"rss_at_start_bytes"`
	// FailedRequests are delivery requests not answered 2xx.
	FailedRequests int64 `json:"failed_requests"`
	// Receiver is the loopback receiver's view (zero with --url).
	Receiver ReceiverStats `json:"receiver"`
}

// LatencyPhase is record-to-delivery latency at a fixed low rate: from the
// record's timestamp (the instant it was produced) to the 2xx answer of the
// request that carried it, for every delivered event.
type LatencyPhase struct {
	Rate           float64 `json:"rate"`
	Seconds        float64 `json:"seconds"`
	Events         int64   `json:"events"`
	Samples        int     `json:"samples"`
	BatchWaitMS    float64 `json:"batch_wait_ms"`
	P50MS          float64 `json:"p50_ms"`
	P99MS          float64 `json:"p99_ms"`
	MaxMS          float64 `json:"max_ms"`
	LoadAvgAtStart float64 `json:"load_average_start"`
	LoadAvgAtEnd   float64 `json:"load_average_end"`
}

// newPhase fills the rates of a phase from its counts and readings.
func newPhase(events, bytes int64, took time.Duration, before, after usage, loadStart, loadEnd float64) Phase {
	p := Phase{Events: events, Bytes: bytes, Seconds: took.Seconds(), LoadAvgAtStart: loadStart, LoadAvgAtEnd: loadEnd}
	if took > 0 {
		p.EventsPerSecond = float64(events) / took.Seconds()
		p.MBPerSecond = float64(bytes) / 1e6 / took.Seconds()
	}
	if after.cpu > 0 {
		p.CPUSeconds = (after.cpu - before.cpu).Seconds()
		if events > 0 {
			p.CPUPerMillion = p.CPUSeconds / float64(events) * 1e6
		}
	}
	return p
}

// percentile returns the p-th percentile (0..100) of sorted samples by the
// nearest-rank method, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return ms(sorted[rank-1])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyFigures sorts samples and fills the percentiles.
func (l *LatencyPhase) latencyFigures(samples []time.Duration) {
	slices.Sort(samples)
	l.Samples = len(samples)
	l.P50MS = percentile(samples, 50)
	l.P99MS = percentile(samples, 99)
	if len(samples) > 0 {
		l.MaxMS = ms(samples[len(samples)-1])
	}
}

// WriteTable prints r for people.
func (r *Result) WriteTable(w io.Writer) error {
	s := r.Setup
	fmt.Fprintf(w, "hookstream bench: %d events of ~%d bytes, %d partitions, broker %s, endpoint %s\n",
		s.Events, s.EventBytes, s.Partitions, s.Broker, s.Endpoint)
	fmt.Fprintf(w, "%d actions, %.0f%% of events matched; GOMAXPROCS %d, %s\n\n", s.Actions, s.Match*100, s.CPUs, s.GoVersion)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tevents\tseconds\tevents/s\tMB/s\tCPU s\tCPU s per 1M\tload avg\t")
	for _, row := range []struct {
		name string
		p    Phase
	}{{"produce", r.Produce}, {"raw consume", r.Raw}, {"pipeline", r.Pipeline.Phase}} {
		p := row.p
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t\n",
			row.name, p.Events, p.Seconds, p.EventsPerSecond, p.MBPerSecond, p.CPUSeconds, p.CPUPerMillion, p.LoadAvgAtEnd)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	pp := r.Pipeline
	if len(r.Runs) > 1 {
		fmt.Fprintf(w, "\nbest of %d runs; each run's events/s, raw and pipeline:\n", len(r.Runs))
		for i, f := range r.Runs {
			fmt.Fprintf(w, "  run %d  %8.0f  %8.0f  %5.1f%%  CPU s per 1M %.2f  load avg %.2f\n",
				i+1, f.RawEventsPerSecond, f.PipelineEventsPerSecond, f.RatioToRaw*100, f.CPUPerMillion, f.LoadAvg)
		}
	}
	fmt.Fprintf(w, "\npipeline / raw          %.1f%%\n", pp.RatioToRaw*100)
	if rc := pp.Receiver; rc.Requests == 0 {
		// A real endpoint: the requests are counted, the events they
		// carried are not (that would mean reading every body again).
		fmt.Fprintf(w, "delivered               %d matched events in %d requests (%d failed)\n",
			pp.MatchedEvents, pp.DeliveryRequests, pp.FailedRequests)
	} else {
		fmt.Fprintf(w, "delivered               %d of %d matched events in %d requests (%d failed)\n",
			pp.DeliveredEvents, pp.MatchedEvents, pp.DeliveryRequests, pp.FailedRequests)
		fmt.Fprintf(w, "receiver                %d requests, %d events, %d bad signatures, %d unsigned\n",
			rc.Requests, rc.Events, rc.BadSignatures, rc.Unsigned)
	}
	fmt.Fprintf(w, "peak RSS                %.0f MB (%.0f MB when the phase began)\n",
		float64(pp.PeakRSSBytes)/1e6, float64(pp.RSSAtStartBytes)/1e6)
	l := r.Latency
	if l.Events > 0 {
		fmt.Fprintf(w, "%-24sp50 %.0f ms, p99 %.0f ms, max %.0f ms over %d events (batch.wait %.0f ms)\n",
			fmt.Sprintf("latency at %g/s", l.Rate), l.P50MS, l.P99MS, l.MaxMS, l.Samples, l.BatchWaitMS)
	} else {
		fmt.Fprintln(w, "latency                 not measured")
	}
	_, err := fmt.Fprintf(w, "\nCPU is this process's, nothing subtracted: %s.\n", s.CPUIncludes)
	return err
}
