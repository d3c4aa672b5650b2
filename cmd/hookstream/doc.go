// Command hookstream turns a Kafka topic of customer-data events into signed
// webhook deliveries. It is the only part of hookstream that reads flags and
// environment variables, and it owns the process: signals, logs, the HTTP
// endpoints and the order in which the parts start and stop.
//
// Each command has its file: run.go (the worker), dev.go (everything on one
// machine: the sample events and receiver are internal/devkit's), broker.go (the embedded
// broker), rules.go (validate and test; rules_topic.go and rules_list.go
// for apply, delete and list on the rules topic), lag.go (a front to
// internal/lag), dlq.go and dlq_replay.go (listing and replaying dead
// letters, a front to internal/dlq), bench.go (a front to internal/bench),
// verify.go (checking a delivery's signatures, as
// receivers must). config.go turns flags, the config file and HOOKSTREAM_*
// variables into an internal/config.Config, in that order of precedence;
// kafka.go turns it into franz-go options (TLS, SASL) and connect.go tries
// them once at start, so that refused credentials end the process at once
// (both through internal/kafkaconn);
// rulesenv.go is the environment rules may read (not the Kafka password);
// tracing.go reads the OpenTelemetry variables; log.go makes the logger.
//
// The worker itself (the producer, sink, processor, rules follower, gauges,
// status page and HTTP server, and the order in which they start and stop)
// is internal/worker: `run`, `dev` and `bench` fill in a worker.Config and
// call worker.New and Run.
//
// Bad usage and bad configuration exit with status 2 and a message saying
// what and where (file and line, flag or variable); other failures exit 1.
package main
