package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// deadRow is one row of the page's recent dead letters, read from its DOM.
type deadRow struct {
	Action, Reason, Status string // the row's data
	Text                   string // what it shows
}

const readDeadRows = `[...document.querySelectorAll('#dead tbody tr[data-reason]')].map((r) => ({
  action: r.dataset.action, reason: r.dataset.reason, status: r.dataset.status, text: r.innerText }))`

// The status page and /status.json list the latest dead letters the worker
// wrote, newest first, with action, reason, status and error, and never a
// secret the action uses.
func TestStatusPageDeadLetters(t *testing.T) {
	const token, secret = "tok-s3cr3t-71", "sig-s3cr3t-72"
	browser := startBrowser(t)
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, func(int, *http.Request, []byte) (int, http.Header) { return http.StatusBadRequest, nil })
	w := startWorker(t, c, "g-page-dead", rulesFor(`actions:
- id: bounced
  trigger: event == "Paid"
  url: URL/bounce?api_key=${env:BOUNCE_TOKEN}
  headers: {Authorization: "Bearer ${env:BOUNCE_TOKEN}"}
  secret_env: BOUNCE_SECRET
`, rv.URL), []string{"BOUNCE_TOKEN=" + token, "BOUNCE_SECRET=" + secret})
	waitHTTPStatus(t, "http://"+w.http+"/readyz", http.StatusOK)
	openPage(t, browser, "http://"+w.http+"/")

	c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(1, "Paid")})
	c.Read(t, "hookstream.dlq", 1)
	c.Produce(t, &kgo.Record{Topic: "events", Value: []byte("not json")})
	c.Read(t, "hookstream.dlq", 2)

	rows := kafkatest.Wait(t, "the page to list 2 dead letters", func() []deadRow {
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]deadRow](readDeadRows))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return rows
	}, func(rows []deadRow) bool { return len(rows) == 2 })
	// Newest first: the poison record, then the rejected event.
	if r := rows[0]; r.Action != "" || r.Reason != "decode" || r.Status != "" || !strings.Contains(r.Text, "matched no action") {
		t.Errorf("first row %+v, want the poison record (decode, no action, no status)", r)
	}
	if r := rows[1]; r.Action != "bounced" || r.Reason != "rejected" || r.Status != "400" || !strings.Contains(r.Text, "400") {
		t.Errorf("second row %+v, want bounced rejected 400", r)
	}

	resp, err := http.Get("http://" + w.http + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		DeadLetters []struct {
			Time                  time.Time
			Action, Reason, Error string
			Status                int
		} `json:"dead_letters"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if d := st.DeadLetters; len(d) != 2 || d[0].Reason != "decode" || d[1].Action != "bounced" || d[1].Status != 400 ||
		d[1].Error == "" || d[0].Time.Before(d[1].Time) {
		t.Errorf("/status.json dead_letters = %+v, want the poison record then bounced's 400, newest first", d)
	}

	ctx, cancel := context.WithTimeout(browser, 10*time.Second)
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{token, secret} {
		if strings.Contains(page, s) || strings.Contains(string(body), s) {
			t.Errorf("the status page or /status.json shows the secret %q", s)
		}
	}
}
