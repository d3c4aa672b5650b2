package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hookstream/hookstream/rules"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokens are one action's OAuth2 access tokens (auth.oauth2), fetched with
// the client credentials grant by golang.org/x/oauth2/clientcredentials.
// oauth2.ReuseTokenSource caches a token until shortly before it expires
// (x/oauth2 takes ten seconds off its expires_in) and makes concurrent
// requests share one fetch. A 401 from the endpoint drops the token that
// was refused (refused), so the next request fetches a fresh one; the
// request is then retried once (deliver.go).
//
// A fetch that fails is a retryable failure of the action, except that a
// token endpoint the delivery policy refuses is permanent, like a refused
// webhook. Every fetch counts in hookstream_auth_token_fetches_total. The
// client secret goes only into the token request, and errors carry the
// token endpoint's host and the OAuth2 error code, never a secret, a token
// or the endpoint's answer.
type tokens struct {
	fetch oauth2.TokenSource // one request to the token endpoint per call
	host  string             // of the token endpoint, for messages
	mu    sync.Mutex
	src   oauth2.TokenSource // the cache over fetch
}

func newTokens(r *runner, a *rules.Compiled, client *http.Client) *tokens {
	o := a.Auth.OAuth2
	conf := clientcredentials.Config{
		ClientID:     o.ClientID,
		ClientSecret: string(a.ClientSecret),
		TokenURL:     o.TokenURL,
		Scopes:       o.Scopes,
	}
	if len(o.Params) > 0 {
		conf.EndpointParams = url.Values{}
		for k, v := range o.Params {
			conf.EndpointParams.Set(k, v)
		}
	}
	host := o.TokenURL
	if u, err := url.Parse(o.TokenURL); err == nil {
		host = u.Host
	}
	f := &tokenFetch{
		conf:    conf,
		ctx:     context.WithValue(r.s.ctx, oauth2.HTTPClient, client),
		timeout: orDuration(a.Timeout, rules.DefaultTimeout),
		counted: func(ok bool) {
			r.s.metrics.AuthTokenFetches.Add(context.Background(), 1, r.attrs.token(ok))
		},
	}
	for _, ok := range []bool{true, false} { // the series exist before the first fetch (series.go)
		r.s.metrics.AuthTokenFetches.Add(context.Background(), 0, r.attrs.token(ok))
	}
	t := &tokens{fetch: f, host: host}
	t.src = oauth2.ReuseTokenSource(nil, f)
	return t
}

// token returns a valid token and the cache it came from.
func (t *tokens) token() (*oauth2.Token, oauth2.TokenSource, error) {
	t.mu.Lock()
	src := t.src
	t.mu.Unlock()
	tok, err := src.Token()
	return tok, src, err
}

// refused drops the cache whose token the endpoint refused, unless a
// concurrent request already did.
func (t *tokens) refused(src oauth2.TokenSource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == src {
		t.src = oauth2.ReuseTokenSource(nil, t.fetch)
	}
}

// failure is the outcome of a request that could not get a token.
func (t *tokens) failure(err error) outcome {
	msg := "auth token from " + t.host + ": "
	var re *oauth2.RetrieveError
	switch {
	case errors.Is(err, ErrEndpointRefused):
		return outcome{class: classPermanent, err: fmt.Errorf("%s%w", msg, urlFree(err))}
	case errors.As(err, &re) && re.Response != nil:
		code := ""
		if re.ErrorCode != "" {
			code = " (" + re.ErrorCode + ")"
		}
		return outcome{class: classRetry, err: fmt.Errorf("%sstatus %d%s", msg, re.Response.StatusCode, code)}
	case errors.Is(err, context.DeadlineExceeded):
		return outcome{class: classRetry, err: fmt.Errorf("%sno answer in time", msg)}
	}
	return outcome{class: classRetry, err: fmt.Errorf("%s%w", msg, urlFree(err))}
}

// tokenFetch requests one token.
type tokenFetch struct {
	conf    clientcredentials.Config
	ctx     context.Context // carries the endpoint's HTTP client; ends with the Sink
	timeout time.Duration
	counted func(ok bool)
}

func (f *tokenFetch) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(f.ctx, f.timeout)
	defer cancel()
	tok, err := f.conf.Token(ctx)
	f.counted(err == nil)
	return tok, err
}
