// Package integration holds hookstream's end-to-end tests: the real binary, run
// as `hookstream run` processes, against an in-process Kafka-protocol cluster
// (kfake) and real HTTP receivers (httptest). Nothing is mocked: what these
// tests see is what a user sees.
package integration
