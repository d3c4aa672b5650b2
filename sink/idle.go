package sink

import "time"

// An action that had events once and none lately costs nothing: its runner
// retires. A rules topic may hold tens of thousands of actions; each one
// that ever matched would otherwise keep a goroutine, its channels, a
// breaker and a batch timer for the life of the worker. The runner of an
// action that holds nothing (no event gathered, queued, in flight or
// pending a park write), delivers directly with a closed breaker that has
// counted no failure, has a full rate-limit bucket and no retry lane, and
// has stayed so for Config.IdleAfter, leaves the Sink's map and its
// goroutine returns, stopping its timer. The next event of the action
// starts a fresh runner, exactly as its first event did: nothing it had
// would change what that runner does (a full bucket and a closed breaker
// without failures are what a new one starts with; an auth.oauth2 token is
// fetched again). An action with its own tls settings has its own
// connection pool, whose idle connections close as its runner retires;
// those of the shared client close after http.Transport.IdleConnTimeout
// (90 s).
//
// Send and retirement agree under the Sink's lock: Send takes the runner
// (runner, which counts it as a user) under the lock, and a runner
// retires, under the same lock, only while it has no user and nothing in
// its channel. A Send that took the runner before it retired has either
// put its event in the channel (so the runner is no longer idle) or still
// counts as a user.

// defaultIdleAfter is Config.IdleAfter's default.
const defaultIdleAfter = time.Minute

// idle reports whether the runner holds nothing and no state that a fresh
// runner would not have. Called from the runner's goroutine.
func (r *runner) idle() bool {
	if r.src != nil || r.lane.Load() != nil || r.held != 0 || r.inFlight != 0 ||
		len(r.queue) != 0 || len(r.deadlines) != 0 || len(r.in) != 0 {
		return false
	}
	if pk := r.pk; pk != nil && (pk.mode != modeDirect || pk.failing.Load() != 0 || len(pk.pending) != 0 || pk.unacked != 0) {
		return false
	}
	if br := r.br.Load(); br != nil && (br.State() != StateClosed || br.cb.Counts().ConsecutiveFailures != 0) {
		return false
	}
	if l := r.lim.Load(); l != nil && l.rl.Tokens() < float64(l.rl.Burst()) {
		return false
	}
	return true
}

// armIdle follows the runner's idleness after each of its steps, and
// points its timer at the moment it may retire. The timer is otherwise
// the batch deadlines', which an idle runner has none of.
func (r *runner) armIdle(now func() time.Time) {
	if r.src != nil || !r.idle() {
		r.idleSince = time.Time{}
		return
	}
	if r.idleSince.IsZero() {
		r.idleSince = now()
	}
	at := r.idleSince.Add(r.s.idleAfter())
	if !at.Equal(r.timerAt) {
		r.timer.Reset(time.Until(at))
		r.timerAt = at
	}
}

// retireDue retires the runner if it has been idle for Config.IdleAfter,
// and reports whether it did: its goroutine must then return.
func (r *runner) retireDue(now time.Time) bool {
	if r.idleSince.IsZero() || now.Sub(r.idleSince) < r.s.idleAfter() || !r.idle() {
		return false
	}
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.users.Load() != 0 || len(r.in) != 0 || s.runners[r.id] != r {
		return false
	}
	delete(s.runners, r.id)
	if r.pk != nil {
		r.pk.stopWait() // releases its context
		r.pk.timer.Stop()
	}
	if ep := r.ep.Load(); ep != nil && ep.client != s.client {
		ep.client.CloseIdleConnections() // the action's own TLS settings: its own pool
	}
	return true
}

// release ends one use of the runner taken by Sink.runner.
func (r *runner) release() { r.users.Add(-1) }

func (s *Sink) idleAfter() time.Duration {
	if s.cfg.IdleAfter > 0 {
		return s.cfg.IdleAfter
	}
	return defaultIdleAfter
}
