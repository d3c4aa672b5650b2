package sink

import "time"

// The behind rule (SPEC §4): an action is behind when its oldest pending
// event has waited longer than retry.park_after, whether its endpoint is
// slow (a 200 after seconds), never answers, or its rate_limit is below the
// rate of the events it matches. A behind action parks like a failing one
// (park.go): its pending and later events go to the retry topic, so the
// source partitions commit and Send never blocks the other actions on it;
// the retry lane delivers them as fast as the endpoint and the limit allow,
// and the action delivers directly again once it has caught up.
//
// "Waited" counts from Send, not from the record's timestamp: a backlog of
// old records read after a restart is not behind, only an action that
// cannot keep up with it. Only the source lane's events count; a retry
// lane's were parked already.
//
// An action that holds Config.MaxBuffered events would block Send, and
// with it the partition's other actions, until its endpoint catches up. It
// is behind once its oldest event has waited behindWhenFull (or park_after,
// if shorter): a full buffer that is not draining is the slow endpoint the
// rule is for, while a burst that a healthy endpoint absorbs at once never
// waits that long.
const behindWhenFull = time.Second

// behind reports whether the action is behind at now, and how long its
// oldest pending event has waited. The wait is counted from the end of the
// second the event arrived in, so an action never parks early.
func (r *runner) behind(now time.Time, full bool) (time.Duration, bool) {
	oldest, ok := r.waiting.oldest()
	if !ok || r.cur == nil {
		return 0, false
	}
	waited := now.Sub(oldest.Add(time.Second))
	return waited, waited >= r.behindAfter(full)
}

// behindAt returns when the action will be behind if nothing it holds is
// done by then, for the park timer.
func (r *runner) behindAt() (time.Time, bool) {
	oldest, ok := r.waiting.oldest()
	if !ok || r.cur == nil {
		return time.Time{}, false
	}
	return oldest.Add(time.Second + r.behindAfter(r.held >= r.s.maxBuffered)), true
}

func (r *runner) behindAfter(full bool) time.Duration {
	if full {
		return min(r.parkAfter(), behindWhenFull)
	}
	return r.parkAfter()
}
