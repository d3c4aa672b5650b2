// Package worker wires one hookstream worker: a consumer-group member with
// everything around it. `hookstream run`, `hookstream dev`, `hookstream
// bench` (internal/bench) and in-process tests all start it through New and
// Run, so each exercises exactly the production path; the command only turns
// flags, the config file and the environment into a Config.
//
// worker.go builds the parts in the order of the data and stops them in the
// reverse order: telemetry (parts.go: the Prometheus meter provider and the
// tracer), a producer for dead letters and parked events, the sink
// (delivering through the egress policy of sink/egress.go), the rules topic
// follower when the rules come from the topic (follow.go), the processor,
// the gauges (gauges.go) and the HTTP server (http.go). At shutdown the
// processor stops fetching, hands what it holds to the sink and commits what
// is done; the sink finishes; the producer flushes the last dead letters; the
// HTTP server stops last, so /metrics and /readyz answer until the end.
//
// Every Kafka client of the worker (the group member, the producers, the
// rules follower) backs off at most 200ms between attempts and reports its
// connections and requests to one watcher (kafkahealth.go): while no broker
// answers, /readyz says the worker is waiting for Kafka, and once the
// brokers are back the clients find them within the backoff. Records too
// large for the producer's batches (a too_large event's dead letter) go
// through a second producer that takes records as large as the consumer
// reads, one at a time (parts.go), so such a dead letter keeps its value
// unless the broker itself refuses the size.
//
// The HTTP server serves /metrics, /healthz, /readyz and the status page
// (page.go, with statuspage/). The page and /status.json show a Status
// (status.go), filled at each request from the processor's partitions (their
// lag is processor.PartitionStatus.Lag), the sink's breakers and pending
// events, the rules, the metric readings (telemetry.Readings) and the latest
// dead letters the sink wrote (deadletters.go, told by sink.Config's
// DeadLettered once each write is acknowledged).
package worker
