// Package kafkaconn is how hookstream connects to Kafka: the client options
// every hookstream client shares, built from the configuration (seed
// brokers, TLS, SASL; opts.go), and the one connection check made before a
// worker or a command starts (check.go), which tells credentials or TLS
// settings the brokers refuse, naming the setting, from brokers that are
// merely not reachable yet.
package kafkaconn
