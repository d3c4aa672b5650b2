package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
)

// binary is the hookstream binary, built once for every test that runs it
// as a subprocess, as users do.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookstream-cmd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hookstream")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hookstream:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitTimeout bounds every wait on a subprocess; running out fails the test.
const waitTimeout = 60 * time.Second

// result is what a finished hookstream process left.
type result struct {
	stdout, stderr string
	code           int
}

// hookstream runs the binary to completion with extra environment variables.
func hookstream(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("hookstream %s: still running after %s", strings.Join(args, " "), waitTimeout)
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("hookstream %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// cleanEnv is the test's environment without HOOKSTREAM_* variables, so a
// developer's own settings do not leak into the tests.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKSTREAM_") {
			env = append(env, kv)
		}
	}
	return env
}

// process is a long-running hookstream subprocess whose stdout is read line
// by line.
type process struct {
	cmd    *exec.Cmd
	lines  chan string // stdout lines; closed at EOF
	stderr *kafkatest.SyncBuffer
	done   chan struct{} // closed when the process has exited
}

// start runs hookstream in the background; Cleanup kills it if the test did
// not stop it, and shows its output when the test failed.
func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 1024), stderr: &kafkatest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hookstream %s: %v", strings.Join(args, " "), err)
	}
	var seen kafkatest.SyncBuffer
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(&seen, sc.Text())
			select {
			case p.lines <- sc.Text():
			default: // nobody is reading; the line is still in seen
			}
		}
		io.Copy(io.Discard, out)
		close(p.lines)
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("hookstream %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), seen.String(), p.stderr.String())
		}
	})
	return p
}

// waitLine returns the submatches of the first stdout line matching re.
func (p *process) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("hookstream exited before printing a line matching %s", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %s after %s", re, waitTimeout)
		}
	}
}

// stop sends sig and returns the exit code.
func (p *process) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal hookstream: %v", err)
	}
	go func() { // keep stdout drained so the process can exit
		for range p.lines {
		}
	}()
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		t.Fatalf("hookstream did not exit within %s of %v", waitTimeout, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// writeFile writes a file in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
