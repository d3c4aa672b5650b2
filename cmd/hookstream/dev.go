package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hookstream/hookstream/examples"
	"github.com/hookstream/hookstream/internal/broker"
	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/devkit"
	"github.com/hookstream/hookstream/internal/worker"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Environment variables the sample rules read; dev sets them itself unless
// they are already set.
const (
	devSecretEnv = "DEV_WEBHOOK_SECRET"
	devTokenEnv  = "DEV_CRM_TOKEN"
)

// devCmd is `hookstream dev`: an embedded broker, the sample rules, a local
// receiver that checks signatures, a stream of sample events, a worker (the
// same code as `run`) and its status page, all in one process.
func (c *cli) devCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("dev", "dev [--rate N] [--partitions N] [--broker ADDR] [--http ADDR] [--receiver ADDR]")
	rate := fs.Float64("rate", 20, "`N` sample events per second")
	partitions := fs.Int("partitions", 8, "`N` partitions of the events topic")
	brokerAddr := fs.String("broker", "127.0.0.1:9092", "broker `ADDR`; a free port is used if it is taken")
	httpAddr := fs.String("http", "127.0.0.1:9464", "status page and metrics `ADDR`; a free port is used if it is taken")
	recvAddr := fs.String("receiver", "127.0.0.1:9400", "webhook receiver `ADDR`; a free port is used if it is taken")
	logFormat := fs.String("log-format", "text", "log `FORMAT`: json or text")
	logLevel := fs.String("log-level", "warn", "log `LEVEL`: debug, info, warn or error")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *rate <= 0 || *rate > 100000 {
		return usagef("dev: --rate %v: want 0 < rate <= 100000", *rate)
	}
	if *partitions < 1 || *partitions > 1000 {
		return usagef("dev: --partitions %d: want 1..1000", *partitions)
	}

	cfg := config.Default()
	cfg.Kafka.Group = "hookstream-dev"
	cfg.Log = config.Log{Format: *logFormat, Level: *logLevel}
	if err := cfg.Validate(); err != nil {
		return usageError{fmt.Errorf("dev: %w", err)}
	}
	log := newLogger(cfg.Log, c.stderr)
	traces, err := c.tracingConfig()
	if err != nil {
		return err
	}

	// The broker, with hookstream's topics.
	bcfg := brokerConfig(*brokerAddr, map[string]int32{"events": int32(*partitions)}, "")
	b, err := broker.Start(bcfg)
	if err != nil {
		bcfg.Listen = "127.0.0.1:0"
		if b, err = broker.Start(bcfg); err != nil {
			return fmt.Errorf("dev: start broker: %w", err)
		}
	}
	defer b.Close()
	cfg.Kafka.Brokers = b.Addrs()

	// The receiver, and the sample rules pointed at it.
	secret := c.getenv(devSecretEnv)
	if secret == "" {
		secret = randomHex(16)
	}
	getenv := func(name string) string {
		switch v := c.getenv(name); {
		case v != "":
			return v
		case name == devSecretEnv:
			return secret
		case name == devTokenEnv:
			return "dev-token"
		default:
			return ""
		}
	}
	recvLn, err := listenOrFree(*recvAddr)
	if err != nil {
		return fmt.Errorf("dev: receiver: %w", err)
	}
	recvBase := "http://" + recvLn.Addr().String()
	set, err := devRules(examples.Rules(), recvBase, getenv)
	if err != nil {
		return fmt.Errorf("dev: sample rules: %w", err)
	}
	recvCtx, stopRecv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecv()
	rv := devkit.NewReceiver([]byte(secret), c.stdout)
	recvDone := worker.Serve(recvCtx, recvLn, rv, 5*time.Second, log)

	httpLn, err := listenOrFree(*httpAddr)
	if err != nil {
		return fmt.Errorf("dev: http: %w", err)
	}
	cfg.HTTP = httpLn.Addr().String()

	c.devBanner(&cfg, recvBase, *rate, *partitions, set)

	var wg sync.WaitGroup
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	gen := devkit.Events{Brokers: cfg.Kafka.Brokers, Topic: "events", Rate: *rate, Log: log}
	wg.Go(func() {
		if err := gen.Run(genCtx); err != nil {
			log.Error("sample events stopped", "err", err)
		}
	})

	workErr := runWorker(ctx, worker.Config{ // returns after ctx ends and what was in hand is delivered
		Settings:    cfg,
		KafkaOpts:   []kgo.Opt{kgo.SeedBrokers(cfg.Kafka.Brokers...)},
		Rules:       newStore(set),
		RulesSource: "examples/rules.yaml (built in)",
		HTTP:        httpLn,
		Log:         log,
		Tracing:     traces,
		Version:     version,
	})

	stopGen()
	wg.Wait()
	stopRecv()
	<-recvDone
	if workErr != nil {
		return fmt.Errorf("dev: worker: %w", workErr)
	}
	fmt.Fprintln(c.stdout, "hookstream dev stopped")
	return nil
}

// devBanner tells the user where to look, the status page first.
func (c *cli) devBanner(cfg *config.Config, recvBase string, rate float64, partitions int, set *rules.Set) {
	var ids []string
	for _, a := range set.Actions {
		ids = append(ids, a.ID)
	}
	addr := cfg.Kafka.Brokers[0]
	fmt.Fprintf(c.stdout, `status page  http://%s/

hookstream dev (version %s) is running on this machine:
  metrics      http://%s/metrics
  broker       %s   (e.g. kcat -b %s -C -t events -e)
  receiver     %s   (checks X-Signature with the shared secret)
  events       %g per second into topic "events" (%d partitions)
  actions      %s (examples/rules.yaml)

Deliveries as the receiver sees them (Ctrl-C to stop):
`, cfg.HTTP, version, cfg.HTTP, addr, addr, recvBase, rate, partitions, strings.Join(ids, ", "))
}

// devRules compiles the sample rules with each action sent to the local
// receiver: the URL's scheme and host become base's, and the action id is
// put in front of the path so the receiver can tell the actions apart.
func devRules(data []byte, base string, getenv func(string) string) (*rules.Set, error) {
	opt := rules.Options{Getenv: getenv}
	set, err := rules.LoadYAML(data, "examples/rules.yaml", opt)
	if err != nil {
		return nil, err
	}
	actions := make([]rules.Action, 0, len(set.Actions))
	for _, c := range set.Actions {
		a := c.Action
		a.URL = base + "/" + a.ID + urlPath(a.URL)
		actions = append(actions, a)
	}
	return rules.CompileAll(actions, opt)
}

// urlPath returns the path (and query) of an absolute URL written as text,
// which may hold {{ templates }} that net/url would refuse.
func urlPath(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "/"
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		if rest[i] == '?' {
			return "/" + rest[i:]
		}
		return rest[i:]
	}
	return "/"
}

// listenOrFree listens on addr, or on a free loopback port if addr is taken.
func listenOrFree(addr string) (net.Listener, error) {
	if ln, err := net.Listen("tcp", addr); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
