package kafkatest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestClusterProducesReadsAndCommits(t *testing.T) {
	c := NewCluster(t, kfake.SeedTopics(2, "events"))
	recs := c.Produce(t,
		&kgo.Record{Topic: "events", Partition: 1, Value: []byte("a")},
		&kgo.Record{Topic: "events", Partition: 1, Value: []byte("b")})
	if recs[1].Partition != 1 || recs[1].Offset != 1 {
		t.Fatalf("second record at %d/%d, want 1/1", recs[1].Partition, recs[1].Offset)
	}
	got := c.Read(t, "events", 2)
	if string(got[0].Value)+string(got[1].Value) != "ab" {
		t.Fatalf("read %q %q, want a b", got[0].Value, got[1].Value)
	}

	if m := c.Committed(t, "g", "events"); len(m) != 0 {
		t.Fatalf("unknown group committed %v, want nothing", m)
	}
	cl := c.NewClient(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	var polled []*kgo.Record
	for len(polled) < 2 {
		fs := cl.PollFetches(t.Context())
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		polled = append(polled, fs.Records()...)
	}
	if err := cl.CommitRecords(t.Context(), polled...); err != nil {
		t.Fatal(err)
	}
	if m := c.Committed(t, "g", "events"); m[1] != 2 || c.EndOffsets(t, "events")[1] != 2 {
		t.Fatalf("committed %v, want partition 1 at 2, its end", m)
	}
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		took := Eventually(t, "a second to pass", func() bool { return time.Since(start) >= time.Second })
		if took < time.Second || took > time.Second+maxPoll {
			t.Fatalf("took %s, want about a second", took)
		}
	})
}

func TestWaitReturnsTheAcceptedValue(t *testing.T) {
	n := 0
	got := Wait(t, "n to reach 3", func() int { n++; return n }, func(v int) bool { return v >= 3 })
	if got != 3 {
		t.Fatalf("Wait returned %d, want 3", got)
	}
}

// fatalT records a failure and ends its goroutine, as testing.T does.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitGivesUpAfterTheTimeoutShowingTheLastValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fatalT{TB: t}
		start := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() {
			Wait(f, "a miracle", func() string { return "nothing" }, func(string) bool { return false })
		})
		wg.Wait()
		if waited := time.Since(start); waited < WaitTimeout {
			t.Errorf("gave up after %s, want %s", waited, WaitTimeout)
		}
		if !strings.Contains(f.msg, "a miracle") || !strings.Contains(f.msg, "nothing") {
			t.Errorf("failure %q names neither what was awaited nor the last value", f.msg)
		}
	})
}

func TestSyncBufferTakesConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprint(&b, "x")
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

// TestCertificatesForMutualTLS serves HTTPS that wants a client certificate
// from the CA: a client with the CA's files gets through; one without a
// certificate, or with another CA's, is refused.
func TestCertificatesForMutualTLS(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = ca.ServerTLS(t, true)
	srv.StartTLS()
	defer srv.Close()

	caPEM, err := os.ReadFile(ca.File(t))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	get := func(certs ...tls.Certificate) (string, error) {
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		resp, err := cl.Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}

	certFile, keyFile := ca.Client(t, "hookstream").Files(t)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("load client files: %v", err)
	}
	if name, err := get(pair); err != nil || name != "hookstream" {
		t.Fatalf("with the CA's client certificate: %q, %v; want hookstream", name, err)
	}
	if _, err := get(); err == nil {
		t.Fatal("without a client certificate: served, want refused")
	}
	if _, err := get(NewCA(t, "other CA").Client(t, "stranger").TLS()); err == nil {
		t.Fatal("with another CA's client certificate: served, want refused")
	}
}

// TestNetworkRunsUnderSynctest produces and consumes through a cluster and
// serves HTTP on a Network inside a bubble, where an hour passes at once.
func TestNetworkRunsUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		c := Start(t, Config{Network: n, Broker: []kfake.Opt{kfake.SeedTopics(1, "events")}})
		c.Produce(t, &kgo.Record{Topic: "events", Value: []byte("x")})
		if got := c.Read(t, "events", 1); string(got[0].Value) != "x" {
			t.Fatalf("read %q, want x", got[0].Value)
		}
		srv := n.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
		resp, err := n.HTTPClient(t).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("GET %s: %q", srv.URL, body)
		}
		start := time.Now()
		time.Sleep(time.Hour)
		if d := time.Since(start); d != time.Hour {
			t.Fatalf("slept %s on the fake clock, want an hour", d)
		}
	})
}

func TestRefuseProduce(t *testing.T) {
	c := NewCluster(t, kfake.SeedTopics(1, "events"))
	var refusing atomic.Bool
	refusing.Store(true)
	refused := make(chan struct{}, 1)
	c.RefuseProduce(&refusing, refused)
	err := c.Client.ProduceSync(t.Context(), &kgo.Record{Topic: "events", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce while refusing: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	select {
	case <-refused:
	default:
		t.Fatal("the refusal was not reported")
	}
	refusing.Store(false)
	c.Produce(t, &kgo.Record{Topic: "events", Value: []byte("y")})
	if got := c.Read(t, "events", 1); string(got[0].Value) != "y" {
		t.Fatalf("read %q after refusing stopped, want y", got[0].Value)
	}
}
