package dlq

import "github.com/hookstream/hookstream/rules"

// State is what a replay knows of the action a dead letter names.
type State int

const (
	Missing  State = iota // no such action (deleted, or never known)
	Enabled               // delivers
	Disabled              // enabled: false
	Invalid               // on the rules topic, but refused by the workers
)

// Actions maps action ids to their state, as the workers see them.
type Actions map[string]State

// TopicActions returns the state of the actions on the rules topic, given
// the latest value of each key (as rules/topic.Read returns them).
func TopicActions(values map[string][]byte) Actions {
	out := make(Actions, len(values))
	for id, v := range values {
		a, err := rules.ParseJSON(v)
		switch {
		case err != nil || a.ID != id:
			out[id] = Invalid
		default:
			out[id] = stateOf(a)
		}
	}
	return out
}

// FileActions returns the state of the actions of a rules file.
func FileActions(actions []rules.Action) Actions {
	out := make(Actions, len(actions))
	for _, a := range actions {
		out[a.ID] = stateOf(a)
	}
	return out
}

func stateOf(a rules.Action) State {
	if a.Enabled != nil && !*a.Enabled {
		return Disabled
	}
	return Enabled
}
