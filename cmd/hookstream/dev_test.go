package main

import (
	"regexp"
	"syscall"
	"testing"
)

func TestDevDeliversSigned(t *testing.T) {
	p := start(t, nil, "dev", "--rate", "50", "--broker", "127.0.0.1:0", "--http", "127.0.0.1:0", "--receiver", "127.0.0.1:0")
	status := p.waitLine(t, regexp.MustCompile(`status page\s+(http://\S+)`))[1]
	line := p.waitLine(t, regexp.MustCompile(`signature (ok|BAD|none)$`))
	if line[1] != "ok" {
		t.Errorf("first delivery line reports signature %s, want ok: %q", line[1], line[0])
	}
	if body := waitHTTP(t, status, 200); !regexp.MustCompile(`track-to-warehouse`).MatchString(body) {
		t.Errorf("status page does not list the sample actions:\n%s", body)
	}
	if code := p.stop(t, syscall.SIGINT); code != 0 {
		t.Errorf("dev exit code after SIGINT = %d, want 0", code)
	}
}
