// Package devkit is what `hookstream dev` runs besides the worker: a stream
// of sample CDP events produced to the embedded broker (events.go) and the
// webhook endpoint the sample rules deliver to, which checks every signature
// and prints one line per delivery (receiver.go).
package devkit
