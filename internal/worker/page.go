package worker

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
)

// The status page is one HTML file, a script and a style sheet, embedded in
// the binary: it needs no network beyond the worker itself, and a
// Content-Security-Policy of 'self' holds it to that. The HTML carries the
// first snapshot inline (as JSON data, not script), so the page is complete
// at first paint; the script then fetches /status.json every second and
// computes rates, batch sizes and percentiles from the difference between
// snapshots.
//
//go:embed statuspage/index.html statuspage/status.js statuspage/status.css
var statusFiles embed.FS

const statusCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageRoutes adds the status page and its data to mux.
func (st *status) pageRoutes(mux *http.ServeMux) {
	page := template.Must(template.ParseFS(statusFiles, "statuspage/index.html"))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", statusCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		noCache(w)
		if err := page.Execute(w, st.snapshot()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		noCache(w)
		_ = json.NewEncoder(w).Encode(st.snapshot())
	})
	for name, ctype := range map[string]string{
		"status.js":  "text/javascript; charset=utf-8",
		"status.css": "text/css; charset=utf-8",
	} {
		body, err := statusFiles.ReadFile("statuspage/" + name)
		if err != nil {
			panic(err) // embedded above: cannot be missing
		}
		mux.HandleFunc("GET /"+name, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(body)
		})
	}
}
