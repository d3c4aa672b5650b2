// Command hookstream turns a Kafka topic of customer-data events into signed
// webhook deliveries. It is the only part of hookstream that reads flags and
// environment variables, and it owns the process: signals, logs, the HTTP
// endpoints and the order in which the parts start and stop.
//
// Each command has its file: run.go (the worker), dev.go (everything on one
// machine, with dev_receiver.go and dev_events.go), broker.go (the embedded
// broker), rules.go (validate and test; rules_topic.go and rules_list.go
// for apply, delete and list on the rules topic), lag.go, bench.go (a thin
// front to internal/bench), verify.go (checking a delivery's signatures, as
// receivers must). rules_follow.go creates or checks the rules topic and
// follows it for `run`. config.go turns flags, the config file and
// HOOKSTREAM_* variables into an internal/config.Config, in that order of
// precedence; kafka.go turns it into franz-go options (TLS, SASL), which
// connect.go tries once at start so that refused credentials end the process
// at once; egress.go turns it into the delivery HTTP client (allowed hosts,
// private networks); rulesenv.go is the environment rules may read (not the
// Kafka password).
//
// worker.go wires one consumer-group member exactly as `run` and `dev` both
// use it: a producer for dead letters, the sink, the processor, the gauges
// (gauges.go, with endoffsets.go for idle partitions), traces (tracing.go)
// and the HTTP server (http.go, with the status page in status.go,
// status_page.go and statuspage/). Shutdown goes in the reverse
// order of the data: the processor stops fetching, hands what it holds to the
// sink and commits what is done; the sink finishes; the producer flushes the
// last dead letters; the HTTP server stops last, so /metrics and /readyz
// answer until the end.
//
// Bad usage and bad configuration exit with status 2 and a message saying
// what and where (file and line, flag or variable); other failures exit 1.
package main
