package bench

import (
	"fmt"
	"net"

	"github.com/hookstream/hookstream/internal/worker"
	"github.com/hookstream/hookstream/rules"
)

// newWorker returns the worker of `hookstream run`, configured from
// Config.Worker with the benchmark's brokers, topic, group and rules, its
// delivery client wrapped by obs.
func (r *run) newWorker(group string, obs *observer) (*worker.Worker, error) {
	s := *r.cfg.Worker
	s.Kafka.Brokers = r.brokers
	s.Kafka.Topics = []string{r.topic}
	s.Kafka.Group = group
	s.HTTP = "127.0.0.1:0"
	ln, err := net.Listen("tcp", s.HTTP)
	if err != nil {
		return nil, fmt.Errorf("bench: worker http: %w", err)
	}
	store := &rules.Store{}
	store.Swap(r.set)
	w, err := worker.New(worker.Config{
		Settings:    s,
		KafkaOpts:   r.opts(),
		Rules:       store,
		RulesSource: "bench",
		HTTP:        ln,
		Log:         r.cfg.Log,
		Version:     r.cfg.Version,
		WrapHTTP:    obs.wrap,
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return w, nil
}
