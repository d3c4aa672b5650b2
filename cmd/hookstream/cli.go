package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// cli is the process seen by the commands: its output streams and its
// environment. Only this package reads flags and environment variables.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

func (c *cli) getenv(name string) string {
	v, _ := c.lookupEnv(name)
	return v
}

// usageError is bad usage or bad configuration: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errHelp ends a command that printed its help: exit status 0.
var errHelp = flag.ErrHelp

const usage = `hookstream turns a Kafka topic of customer-data events into signed webhook deliveries.

Usage:
  hookstream <command> [flags]

Commands:
  run       the worker: a consumer-group member delivering webhooks
  dev       everything on one machine: broker, sample rules, receiver, events, worker
  broker    the embedded Kafka-protocol broker alone
  rules     validate | test | apply | list | delete the actions
  lag       the group's lag per partition, and the oldest undelivered event per action
  dlq       list | replay the dead letters
  bench     size a deployment: raw consume rate vs the full pipeline, CPU, memory, latency
  verify    check a delivery's X-Signature and webhook-signature, as a receiver must

  hookstream <command> --help   shows the command's flags
  hookstream --version          prints the version
`

// main runs one command line and returns the exit status.
func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, usage)
		return 0
	case "-version", "--version", "version":
		fmt.Fprintf(c.stdout, "hookstream %s\n", version)
		return 0
	case "run":
		err = c.runCmd(ctx, rest)
	case "dev":
		err = c.devCmd(ctx, rest)
	case "broker":
		err = c.brokerCmd(ctx, rest)
	case "rules":
		err = c.rulesCmd(ctx, rest)
	case "bench":
		err = c.benchCmd(ctx, rest)
	case "lag":
		err = c.lagCmd(ctx, rest)
	case "verify":
		err = c.verifyCmd(rest)
	case "dlq":
		err = c.dlqCmd(ctx, rest)
	default:
		err = usagef("unknown command %q (commands: run, dev, broker, rules, lag, dlq, bench, verify; see hookstream --help)", cmd)
	}
	return c.exitCode(err)
}

// exitCode prints err and maps it to an exit status: 0 for success or help,
// 2 for bad usage or configuration, 1 for everything else.
func (c *cli) exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "hookstream: %s\n", indentLines(err.Error()))
		return 2
	default:
		fmt.Fprintf(c.stderr, "hookstream: %s\n", indentLines(err.Error()))
		return 1
	}
}

// indentLines keeps a joined multi-line error readable under its first line.
func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

// newFlagSet returns a flag set for a command whose parse errors are returned,
// printed to the command's stderr with its usage.
func (c *cli) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hookstream %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; a parse error is a usage error (flag has already
// printed what was wrong), -h is errHelp, and stray arguments are refused.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	if fs.NArg() > maxArgs {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(maxArgs))
	}
	return nil
}

// listFlag collects a repeatable flag; each use may also hold a
// comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}
