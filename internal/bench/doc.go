// Package bench is `hookstream bench`: it sizes a deployment by measuring,
// in one run on one backlog, what this machine can read from Kafka and what
// hookstream's full pipeline makes of it.
//
// A run has four phases. It produces Config.Events realistic CDP events (a
// mix of identify, track, page, screen, group and alias events of about
// Config.Size bytes, a share Config.Match of them "Order Completed") to a
// fresh topic. A bare franz-go consumer drains the topic: that rate is the
// input limit, nothing built on franz-go can consume faster here. Then the
// worker, started through internal/worker with exactly the wiring of
// `hookstream run` (every guarantee on: decode, triggers, batching, signing,
// breaker, commit after delivery, metrics), drains the same backlog with a
// fresh group; the phase ends when its status shows every record done. Last,
// with the worker still running, events are produced at Config.Rate and
// each one's record-to-delivery latency is taken: from the record's
// timestamp to the 2xx answer of the request that carried it.
//
// Config.Actions measures what the number of actions costs: the default
// action that wants "Order Completed" plus Config.Actions-1 batched ones
// that each want a track event the generator never makes (`type == "track"
// && event == "Custom Event <i>"`), as a rules topic holding one action per
// customer webhook does. Config.Rules runs any other set instead.
//
// With Config.Runs above one, the raw and pipeline phases alternate that
// many times on the same backlog, each pipeline run with a fresh group, and
// the fastest of each kind is reported: on a shared machine the best of a
// few runs is the figure least disturbed by other work.
//
// CPU is read with getrusage for the whole process, over each phase, and
// nothing is subtracted. With the defaults the process also runs the
// embedded broker and a loopback receiver that verifies every signature, so
// the pipeline's CPU and memory figures include theirs; with Config.Brokers
// and Config.URL pointing elsewhere (a `hookstream broker` process, the
// receiver of `hookstream bench --receive`) they are the worker's own.
// Peak RSS covers the pipeline phase alone where the kernel lets the peak be
// reset (Linux).
//
// The benchmark's own instruments stay off the measured path: the progress
// it polls is the processor's status, and the transport it wraps around the
// worker's HTTP client only counts answers, except during the latency phase,
// when it reads each delivered body again for the events' sentAt.
package bench
