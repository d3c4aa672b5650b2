package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hookstream/hookstream/internal/bench"
	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/worker"
)

// benchCmd is `hookstream bench`: the raw consume rate of this machine and
// the full pipeline's rate, CPU, memory and latency on the same backlog. See
// internal/bench for what each figure means.
func (c *cli) benchCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("bench", "bench [--events N] [--size BYTES] [--partitions N] [--match RATIO] [--runs N] [--actions N] [--rate N] [--brokers HOST:PORT]... [--url URL] [--json]\n"+
		"       hookstream bench --receive ADDR")
	events := fs.Int("events", bench.DefaultEvents, "`N` events in the backlog")
	size := fs.Int("size", bench.DefaultSize, "`BYTES` per event, about")
	partitions := fs.Int("partitions", bench.DefaultPartitions, "`N` partitions of the benchmark topic")
	match := fs.Float64("match", bench.DefaultMatch, "share of events the default action wants, `RATIO` 0..1")
	runs := fs.Int("runs", 1, "repeat the raw and pipeline phases `N` times and report the best of each (1..10)")
	rate := fs.Float64("rate", bench.DefaultRate, "`N` events per second in the latency phase")
	latencyFor := fs.Duration("latency-duration", bench.DefaultLatencyFor, "how long the latency phase produces (`DURATION`; 0 skips it)")
	batchWait := fs.Duration("batch-wait", bench.DefaultBatchWait, "batch.wait of the default action (`DURATION`)")
	var brokers listFlag
	fs.Var(&brokers, "brokers", "a real cluster's seed brokers `HOST:PORT` instead of the embedded broker")
	url := fs.String("url", "", "a real endpoint `URL` for the default action instead of the loopback receiver")
	topic := fs.String("topic", "", "topic `NAME` to create for the run (default hookstream.bench.<random>)")
	rulesFile := fs.String("rules", "", "rules `FILE` instead of the default actions (URLs used as written)")
	actions := fs.Int("actions", 0, "`N` actions instead of the default ones: the one that wants Order Completed and N-1 that want events no event is")
	configFile := fs.String("config", "", "config `FILE` whose kafka section (TLS, SASL) is used with --brokers")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the pipeline phase to `FILE`")
	memProfile := fs.String("memprofile", "", "write heap profiles taken after and before the pipeline phase to `FILE` and FILE.base")
	receive := fs.String("receive", "", "only run the verifying receiver on `ADDR` until interrupted (for --url from another process)")
	logLevel := fs.String("log-level", "warn", "log `LEVEL`: debug, info, warn or error")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	secret := []byte(c.getenv("HOOKSTREAM_BENCH_SECRET"))
	if len(secret) == 0 {
		secret = []byte(bench.DefaultSecret)
	}

	// The worker's settings, as `run` reads them (environment, then the
	// config file); the benchmark sets brokers, topic, group and rules.
	base := config.Default()
	var errs []error
	if err := base.ApplyEnv(c.lookupEnv); err != nil {
		errs = append(errs, err)
	}
	if *configFile != "" {
		if err := base.LoadFile(*configFile); err != nil {
			errs = append(errs, err)
		}
	}
	base.Log = config.Log{Format: "text", Level: *logLevel}
	if len(errs) == 0 {
		errs = append(errs, base.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{fmt.Errorf("bench: configuration:\n%w", err)}
	}
	log := newLogger(base.Log, c.stderr)
	if *receive != "" {
		return c.benchReceive(ctx, *receive, secret, log)
	}
	clientOpts, err := c.kafkaOpts(&base)
	if err != nil {
		return err
	}
	bc := bench.Config{
		Brokers:    splitList(brokers),
		ClientOpts: clientOpts,
		URL:        *url,
		Topic:      *topic,
		Events:     *events,
		Size:       *size,
		Partitions: *partitions,
		Runs:       *runs,
		Actions:    *actions,
		Match:      *match,
		Rate:       *rate,
		LatencyFor: *latencyFor,
		BatchWait:  *batchWait,
		Secret:     secret,
		Worker:     &base,
		Version:    version,
		Log:        log,
		Progress:   c.stderr,
	}
	if *match == 0 {
		bc.Match = bench.NoMatch // none, not the default
	}
	if *latencyFor == 0 {
		bc.LatencyFor = -1
	}
	if *rulesFile != "" {
		if bc.Rules, err = loadRulesFile(*rulesFile, c.getenv); err != nil {
			return usageError{err}
		}
	}
	// Zero means "the default" in bench.Config; here it is what was asked.
	var bad []error
	for _, f := range []struct {
		name string
		v    int
	}{{"events", *events}, {"size", *size}, {"partitions", *partitions}, {"runs", *runs}} {
		if f.v == 0 {
			bad = append(bad, fmt.Errorf("--%s 0: want at least 1", f.name))
		}
	}
	if err := errors.Join(append(bad, bc.Check())...); err != nil {
		return usageError{fmt.Errorf("bench: %w", err)}
	}
	closeProfiles, err := openProfiles(&bc, *cpuProfile, *memProfile)
	if err != nil {
		return err
	}
	logOTelErrors(log)
	res, err := bench.Run(ctx, bc)
	if perr := closeProfiles(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteTable(c.stdout)
}

// openProfiles creates the profile files asked for and returns a function
// that closes them.
func openProfiles(bc *bench.Config, cpu, mem string) (func() error, error) {
	var files []*os.File
	closeAll := func() error {
		var errs []error
		for _, f := range files {
			errs = append(errs, f.Close())
		}
		return errors.Join(errs...)
	}
	create := func(path string) (io.Writer, error) {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		files = append(files, f)
		return f, nil
	}
	var err error
	if cpu != "" {
		if bc.CPUProfile, err = create(cpu); err != nil {
			return nil, errors.Join(err, closeAll())
		}
	}
	if mem != "" {
		if bc.MemProfile, err = create(mem); err != nil {
			return nil, errors.Join(err, closeAll())
		}
		if bc.MemProfileBefore, err = create(mem + ".base"); err != nil {
			return nil, errors.Join(err, closeAll())
		}
	}
	return closeAll, nil
}

// benchReceive serves the benchmark's verifying receiver on addr until ctx
// ends, then prints what it received.
func (c *cli) benchReceive(ctx context.Context, addr string, secret []byte, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bench: receive: %w", err)
	}
	rv := bench.NewReceiver(secret)
	fmt.Fprintf(c.stdout, "hookstream bench receiver on http://%s/ (verifies X-Signature; Ctrl-C to stop)\n", ln.Addr())
	done := worker.Serve(ctx, ln, rv, 5*time.Second, log)
	<-done
	st := rv.Stats()
	fmt.Fprintf(c.stdout, "received %d requests, %d events, %d bytes; %d bad signatures, %d unsigned\n",
		st.Requests, st.Events, st.Bytes, st.BadSignatures, st.Unsigned)
	return nil
}

// splitList returns the entries of a repeatable flag, each use possibly a
// comma-separated list.
func splitList(l listFlag) []string {
	var out []string
	for _, v := range l {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
