// Package kafkatest is the kit every hookstream test shares: an in-process
// Kafka cluster (kfake) with clients that recover from faults quickly
// (cluster.go) and a broker that can refuse writes (faults.go), a
// wait-and-poll helper for state that offers no event to await (wait.go), a
// goroutine-safe buffer for logs (buffer.go), throw-away certificates for
// TLS and mTLS tests (certs.go: NewCA, then Server, Client, and File or
// Files for the PEM paths a config names), and an in-memory network for
// tests under testing/synctest (network.go).
//
// It is for tests only. Every helper takes the test's testing.TB, fails the
// test on error, and releases what it started through t.Cleanup.
//
// Waiting: a test awaits an event (a channel, a callback) where one exists.
// Eventually and Wait are for state that offers none, such as offsets held
// by the broker or a separate process's HTTP answers; they poll with a
// deadline, WaitTimeout, and running out fails the test. A test that shows
// that something does not happen, or that depends on durations (a breaker's
// open window, a batch's wait), runs under testing/synctest instead of
// sleeping: a Network lets a cluster, HTTP servers and their clients run
// inside the bubble, on its fake clock.
package kafkatest
