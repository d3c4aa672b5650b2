package sink

import (
	"encoding/base64"
	"net/http"
	"reflect"

	"github.com/hookstream/hookstream/rules"
)

// endpoint is how one action version reaches its endpoint: the HTTP client
// and the credentials. An action without tls settings uses the Sink's
// client; one with them gets its own transport, with the same egress policy
// (Config.Egress) and its CA pool and client certificate, so that a private
// CA or a client certificate serves that endpoint only. The same client
// dials the action's OAuth2 token endpoint, under the same policy.
//
// The runner and its retry lane share one endpoint, as they share a
// breaker; a reload that leaves tls and auth alone keeps it, with its
// connections and its cached token.
type endpoint struct {
	a      *rules.Compiled // the version that made it
	client *http.Client
	basic  string  // the Authorization value of auth.basic; "" without
	tokens *tokens // auth.oauth2's tokens; nil without
}

func (r *runner) newEndpoint(a *rules.Compiled) *endpoint {
	ep := &endpoint{a: a, client: r.s.client}
	if a.TLSConfig != nil {
		ep.client = &http.Client{Transport: egressTransport(r.s.cfg.Egress, a.TLSConfig), CheckRedirect: noRedirects}
	}
	if au := a.Auth; au != nil && au.Basic != nil {
		ep.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(au.Basic.Username+":"+string(a.Password)))
	}
	if au := a.Auth; au != nil && au.OAuth2 != nil {
		ep.tokens = newTokens(r, a, ep.client)
	}
	return ep
}

// sameEndpoint reports whether version a reaches its endpoint as ep does.
func sameEndpoint(ep *endpoint, a *rules.Compiled) bool {
	if ep.a == a {
		return true
	}
	return ep.a.TLSConfig == a.TLSConfig && ep.a.Password == a.Password && ep.a.ClientSecret == a.ClientSecret &&
		reflect.DeepEqual(ep.a.Auth, a.Auth)
}

// setEndpoint keeps the runner's endpoint in step with the action's
// current version (the other lane may have just made one).
func (r *runner) setEndpoint(a *rules.Compiled) {
	if ep := r.ep.Load(); ep == nil || !sameEndpoint(ep, a) {
		r.ep.CompareAndSwap(ep, r.newEndpoint(a))
	}
}

// noRedirects keeps a client from following redirects: a redirected POST
// would become a GET.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// closeEndpoints closes the idle connections of the actions' own
// transports once the Sink has stopped.
func (s *Sink) closeEndpoints() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runners {
		if ep := r.ep.Load(); ep != nil && ep.client != s.client {
			ep.client.CloseIdleConnections()
		}
	}
}
