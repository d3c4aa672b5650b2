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
// An action that holds Config.MaxBuffered events blocks Send until it parks,
// and with it its partitions' other actions: park_after bounds that stall
// too. It is not shortened for a full buffer, as it is for a failing
// endpoint: a healthy action on a busy worker can hold a full buffer whose
// oldest event has waited a second, and parking it would only add work.
// Lower park_after for quicker isolation.

// behind reports whether the action is behind at now, and how long its
// oldest pending event has waited. The wait is counted from the end of the
// second the event arrived in, so an action never parks early.
func (r *runner) behind(now time.Time) (time.Duration, bool) {
	oldest, ok := r.waiting.oldest()
	if !ok || r.cur == nil {
		return 0, false
	}
	waited := now.Sub(oldest.Add(time.Second))
	return waited, waited >= r.parkAfter()
}

// behindAt returns when the action will be behind if nothing it holds is
// done by then, for the park timer.
func (r *runner) behindAt() (time.Time, bool) {
	oldest, ok := r.waiting.oldest()
	if !ok || r.cur == nil {
		return time.Time{}, false
	}
	return oldest.Add(time.Second + r.parkAfter()), true
}
