// Package sink delivers matched events to their webhooks and dead-letters
// what cannot be delivered. It is the last step of hookstream's pipeline:
// the processor hands each (action, event) pair to Send with an
// acknowledgement (processor.Ack, the record's ledger slot), and commits a
// record's offset only once every Ack of that record is done. The sink's
// promise is therefore simple to state: Done means delivered (a 2xx) or
// written to the dead-letter topic (acknowledged by the broker), and
// nothing else ever calls it. An event whose Ack reports Withdrawn (its
// partition was revoked) is dropped if it is not yet in a request: the
// partition's next owner delivers it.
//
// Each action with events has one goroutine (action.go) that owns its
// batchers (batcher.go); it starts with the action's first event and
// retires once the action has held nothing for Config.IdleAfter (idle.go),
// so actions without events lately cost no goroutine or timer. Batches
// never mix URLs, keep arrival order, and are flushed at batch.size
// events, after batch.wait, or before batch.max_bytes would be exceeded;
// their body is the events' bytes in a JSON array as they are, never
// re-encoded and never joined into a copy either: each attempt reads it
// from the events' own bytes (body.go), so a batch retried against a
// failing endpoint holds its events once. A rules reload hands the Sink a new
// *rules.Compiled: what was gathered under the old one is flushed first and
// delivered with the old settings. The goroutine starts at most
// max_in_flight requests at a time, in order, so with 1 a failing batch
// holds the ones behind it. Once an action holds Config.MaxBuffered events
// it stops taking more and Send blocks: back-pressure instead of memory.
//
// A request (deliver.go) carries the action's headers, an Idempotency-Key
// fixed when the batch is formed (idempotency.go) and, when the action has
// a secret, X-Signature and optionally Standard Webhooks signatures
// (sign.go, which also offers the matching Verify functions to receivers).
// Answers are classified in retry.go: 2xx delivered; 408, 429, 5xx and
// transport errors retried with exponential backoff and full jitter,
// honouring Retry-After, until retry.max_duration; 413 splits the batch in
// halves; any other answer dead-letters the events as rejected.
//
// With Config.Tracer set, each request is a client span named after the
// action (trace.go) that links to the traces of the records it carries; an
// unbatched one also continues its record's trace, and the span's
// traceparent goes to the receiver. Each action counts its events not yet
// done by record time (pending.go), for the age of the oldest one.
//
// An action reaches its endpoint through an endpoint (endpoint.go): the
// Sink's client, or, for an action with tls settings, its own transport
// with its CA pool and client certificate under the same egress policy
// (egress.go); and its credentials: auth.basic's header, or auth.oauth2's
// tokens (oauth.go, golang.org/x/oauth2/clientcredentials), cached until
// shortly before they expire, fetched once for concurrent requests through
// the same client, refreshed and retried once on a 401.
//
// An action with a rate_limit waits for its limiter (ratelimit.go,
// golang.org/x/time/rate) before each request. The budget is the whole
// group's: OnAssigned gives this worker the share of the source partitions
// it owns, and an action's retry lane the share of the partitions whose
// parked events it holds. The wait is not an attempt and never counts
// against the breaker.
//
// Every request goes through the action's circuit breaker (breaker.go,
// sony/gobreaker). Only retryable failures count against it; a 4xx proves
// the endpoint is up. While it is open, deliveries sleep until it may
// half-open instead of counting attempts.
//
// egress.go holds the delivery network policy (delivery.allowed_hosts,
// delivery.deny_private_networks): a client whose transport refuses hosts
// not on the list and, in the dialer, after DNS, private addresses. Anything
// else that sends on an action's behalf uses the same transport.
//
// Dead letters (dlq.go) keep the source record's key, value and headers and
// add hookstream-* headers saying why; their format, like that of parked
// events, is internal/deadletter's. Both are written by one acked topic
// writer (writer.go): a failed write is retried with backoff, and Done is
// only called after the broker acknowledged it. A record too large for the
// producer's batches (Config.LargeFrom) goes through Config.Large, one at a
// time, so that only the broker's own limit can refuse it; then, and only
// then, a dead letter is written without its value, with
// hookstream-value-dropped: true. Config.DeadLettered hears of each acknowledged
// dead letter (the worker's status page lists the latest).
//
// Flush and Close make shutdown exact: Flush sends every partial batch and
// waits for the events handed over before it; Close then stops every
// goroutine. Events still undelivered are left undone, so their offsets are
// not committed and a restart delivers them again (at-least-once).
//
// Isolation (park.go; the retry lane in retrytopic.go): an action whose
// endpoint has failed for longer than retry.park_after — or that is failing
// and holds Config.MaxBuffered events, where Send would otherwise block and
// stall every other action of the caller — parks, and so does an action
// that is behind: its oldest pending event has waited park_after (behind.go:
// a slow endpoint, one that never answers, a rate limit below the matching
// rate). Its requests stop at
// their next wait, and their events, the queued ones and every later one
// are written to the retry topic in source order, keyed by the action id so
// that they share one partition, with the source record's value and
// headers and headers naming the action and the source; each is done once
// the write is acknowledged. The processor reads the retry topic back and
// hands each event's source record to SendParked, which routes it to the
// action's retry lane: a second runner with the same breaker that delivers
// but never parks, so while the endpoint is down the lane holds its events
// (it never blocks: the processor bounds them by pausing the retry
// partition). The action delivers directly again only once the group's
// committed offsets on the retry topic (Config.Group) show that everything
// it parked is done, so no new event overtakes a parked one.
package sink
