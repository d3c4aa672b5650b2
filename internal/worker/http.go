package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// handler serves /metrics, /healthz, /readyz, the status page (/, with its
// script and style) and its data, /status.json.
//
// /healthz answers 200 while the process serves HTTP at all: it is for a
// liveness probe, which must not restart a worker that is merely waiting
// for Kafka. /readyz answers 200 only while the worker consumes with its
// rules loaded, and 503 with the reason otherwise (starting, shutting down).
func handler(st *status, registry *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		noCache(w)
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		noCache(w)
		if err := st.src.ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	st.pageRoutes(mux)
	return mux
}

func noCache(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// Serve serves h on ln until ctx ends, then shuts the server down within
// timeout. The returned channel closes when the server has stopped.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration, log *slog.Logger) <-chan struct{} {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return done
}
