package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// status is what the HTTP endpoints show about one worker.
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
	// partitions returns the member's partitions, for the status page.
	partitions func() []processor.PartitionStatus
}

// handler serves /metrics, /healthz, /readyz and the status page.
func (st *status) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(st.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := st.ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	page := template.Must(template.New("status").Parse(statusHTML))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { st.page(w, page) })
	return mux
}

// serveHTTP serves h on ln until ctx ends, then shuts the server down within
// timeout. The returned channel closes when the server has stopped.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration, log *slog.Logger) <-chan struct{} {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return done
}

// actionRow is one line of the status page's action table.
type actionRow struct {
	ID, Method, URL, Batch           string
	Enabled, Signed                  bool
	Matched, Delivered, DeadLettered float64
	Open                             float64 // hookstream_circuit_state
}

type pageData struct {
	Version, Uptime, Ready, Group, Source string
	Brokers, Topics                       []string
	Consumed                              float64
	Actions                               []actionRow
	Partitions                            []partitionRow
}

// partitionRow is one line of the status page's partition table.
type partitionRow struct {
	processor.PartitionStatus
	Lag    string // end offset minus committable offset
	Oldest string // age of the oldest record not done
}

// page renders the status page: the worker, its actions and their counters.
func (st *status) page(w http.ResponseWriter, tmpl *template.Template) {
	m := gather(st.registry)
	d := pageData{
		Version: version,
		Uptime:  time.Since(st.started).Round(time.Second).String(),
		Ready:   "ready",
		Group:   st.group,
		Source:  st.source,
		Brokers: st.brokers,
		Topics:  st.topics,
	}
	if err := st.ready(); err != nil {
		d.Ready = "not ready: " + err.Error()
	}
	for _, v := range m["hookstream_events_consumed_total"] {
		d.Consumed += v
	}
	for _, a := range st.store.Load().Actions {
		row := actionRow{
			ID: a.ID, Method: a.Method, URL: displayURL(a.URL), Batch: "one event per request",
			Enabled: isEnabled(a), Signed: len(a.Secrets) > 0,
			Matched:      m["hookstream_events_matched_total"][a.ID],
			Delivered:    m["hookstream_events_delivered_total"][a.ID],
			DeadLettered: m["hookstream_events_dead_lettered_total"][a.ID],
			Open:         m["hookstream_circuit_state"][a.ID],
		}
		if a.Batch != nil {
			row.Batch = fmt.Sprintf("up to %d, wait %s", a.Batch.Size, a.Batch.Wait)
		}
		d.Actions = append(d.Actions, row)
	}
	for _, p := range st.partitions() {
		row := partitionRow{PartitionStatus: p, Lag: "-", Oldest: "-"}
		if p.HighWatermark >= 0 && p.Committable >= 0 {
			row.Lag = fmt.Sprint(p.HighWatermark - p.Committable)
		}
		if !p.Oldest.IsZero() {
			row.Oldest = time.Since(p.Oldest).Round(time.Millisecond).String()
		}
		d.Partitions = append(d.Partitions, row)
	}
	slices.SortFunc(d.Actions, func(a, b actionRow) int { return strings.Compare(a.ID, b.ID) })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := tmpl.Execute(w, d); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
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

// gather sums each metric by its action label ("" when it has none).
func gather(reg *prometheus.Registry) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	families, _ := reg.Gather() // a partial result is still worth showing
	for _, f := range families {
		byAction := map[string]float64{}
		for _, m := range f.GetMetric() {
			var action string
			for _, l := range m.GetLabel() {
				if l.GetName() == "action" {
					action = l.GetValue()
				}
			}
			byAction[action] += value(m)
		}
		out[f.GetName()] = byAction
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

const statusHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>hookstream</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:90%}
</style></head><body>
<h1>hookstream</h1>
<p>version {{.Version}} &middot; up {{.Uptime}} &middot; <b>{{.Ready}}</b></p>
<p>brokers <code>{{range $i, $b := .Brokers}}{{if $i}}, {{end}}{{$b}}{{end}}</code>
&middot; topics <code>{{range $i, $t := .Topics}}{{if $i}}, {{end}}{{$t}}{{end}}</code>
&middot; group <code>{{.Group}}</code> &middot; rules from <code>{{.Source}}</code>
&middot; {{printf "%.0f" .Consumed}} events consumed</p>
<h2>Actions</h2>
<table><tr><th>action</th><th>request</th><th>batch</th><th>signed</th><th>matched</th><th>delivered</th><th>dead-lettered</th><th>circuit</th></tr>
{{range .Actions}}<tr><td><code>{{.ID}}</code>{{if not .Enabled}} (disabled){{end}}</td>
<td><code>{{.Method}} {{.URL}}</code></td><td>{{.Batch}}</td><td>{{if .Signed}}yes{{else}}no{{end}}</td>
<td class="n">{{printf "%.0f" .Matched}}</td><td class="n">{{printf "%.0f" .Delivered}}</td>
<td class="n">{{printf "%.0f" .DeadLettered}}</td>
<td>{{if eq .Open 2.0}}open{{else if eq .Open 1.0}}half-open{{else}}closed{{end}}</td></tr>
{{else}}<tr><td colspan="8">no actions</td></tr>{{end}}
</table>
<h2>Partitions of this member</h2>
<table><tr><th>topic</th><th>partition</th><th>end offset</th><th>committable</th><th>lag</th><th>pending</th><th>oldest pending</th></tr>
{{range .Partitions}}<tr><td><code>{{.Topic}}</code></td><td class="n">{{.Partition}}</td><td class="n">{{.HighWatermark}}</td>
<td class="n">{{.Committable}}</td><td class="n">{{.Lag}}</td><td class="n">{{.Pending}}</td><td class="n">{{.Oldest}}</td></tr>
{{else}}<tr><td colspan="7">none assigned</td></tr>{{end}}
</table>
<p><a href="/metrics">/metrics</a> &middot; <a href="/healthz">/healthz</a> &middot; <a href="/readyz">/readyz</a></p>
</body></html>
`
