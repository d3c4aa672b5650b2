package main

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hookstream/hookstream/internal/broker"
	"github.com/hookstream/hookstream/internal/config"
)

// brokerCmd runs the embedded Kafka-protocol broker until SIGINT or SIGTERM.
func (c *cli) brokerCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("broker", "broker [--listen ADDR] [--topic NAME:PARTITIONS]... [--data-dir DIR]")
	listen := fs.String("listen", "127.0.0.1:9092", "`ADDR` to listen on; port 0 picks a free port")
	var topicFlags listFlag
	fs.Var(&topicFlags, "topic", "topic to create as `NAME:PARTITIONS` (repeatable; default events:8)")
	dataDir := fs.String("data-dir", "", "keep records and committed offsets in `DIR` across restarts")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if len(topicFlags) == 0 {
		topicFlags = listFlag{"events:8"}
	}
	topics, err := parseTopics(topicFlags)
	if err != nil {
		return err
	}
	cfg := brokerConfig(*listen, topics, *dataDir)
	b, err := broker.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "hookstream broker listening on %s\n", strings.Join(b.Addrs(), ","))
	for _, t := range slices.Sorted(maps.Keys(cfg.Topics)) {
		fmt.Fprintf(c.stdout, "  topic %s: %d partitions\n", t, cfg.Topics[t])
	}
	if *dataDir != "" {
		fmt.Fprintf(c.stdout, "  data kept in %s\n", *dataDir)
	}
	<-ctx.Done()
	b.Close()
	fmt.Fprintln(c.stdout, "hookstream broker stopped")
	return nil
}

// brokerConfig adds hookstream's own topics to the source topics: the
// dead-letter and retry topics with as many partitions as the largest source
// topic, and the compacted rules topic.
func brokerConfig(listen string, topics map[string]int32, dataDir string) broker.Config {
	def := config.Default().Kafka
	all := maps.Clone(topics)
	var most int32 = 1
	for _, p := range topics {
		most = max(most, p)
	}
	for _, t := range []string{def.DLQTopic, def.RetryTopic} {
		if _, ok := all[t]; !ok {
			all[t] = most
		}
	}
	if _, ok := all[def.RulesTopic]; !ok {
		all[def.RulesTopic] = 1
	}
	return broker.Config{Listen: listen, Topics: all, Compacted: []string{def.RulesTopic}, DataDir: dataDir}
}

var topicFlagPattern = regexp.MustCompile(`^([A-Za-z0-9._-]{1,249})(?::(\d+))?$`)

// parseTopics reads NAME:PARTITIONS flags; a NAME alone has one partition.
func parseTopics(flags []string) (map[string]int32, error) {
	out := make(map[string]int32)
	for _, f := range flags {
		for spec := range strings.SplitSeq(f, ",") {
			m := topicFlagPattern.FindStringSubmatch(strings.TrimSpace(spec))
			if m == nil {
				return nil, usagef("broker: --topic %q: want NAME:PARTITIONS, such as events:8", spec)
			}
			parts := 1
			if m[2] != "" {
				n, err := strconv.Atoi(m[2])
				if err != nil || n < 1 || n > 10000 {
					return nil, usagef("broker: --topic %q: partitions must be 1..10000", spec)
				}
				parts = n
			}
			out[m[1]] = int32(parts)
		}
	}
	return out, nil
}
