// Package handoff carries one promise from the processor to the sink: the
// events handed over under a context marked Withdrawable belong to a
// partition that can be taken away, and once that context ends, the ones
// not yet sent are better dropped than delivered. Their partition's next
// owner reads them again from the committed offset and delivers them, so
// delivering them here as well would only make duplicates; dropping them
// loses nothing, because their offsets were never committed.
//
// It is a package of its own so that the processor need not import the
// sink to say it, and so that no other caller of the sink gets this
// behaviour by accident: a context that merely times out a blocking Send
// withdraws nothing.
package handoff

import "context"

type key struct{}

// Withdrawable marks ctx: events handed over under it are withdrawn if it
// ends before they are sent.
func Withdrawable(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, true)
}

// Withdrawn reports whether an event handed over under ctx is to be
// dropped: ctx is marked Withdrawable and has ended.
func Withdrawn(ctx context.Context) bool {
	return ctx != nil && ctx.Err() != nil && ctx.Value(key{}) != nil
}
