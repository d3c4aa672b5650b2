// Package config holds the settings of `hookstream run` and reads them from
// their three sources: HOOKSTREAM_* environment variables, a YAML config file
// and command-line flags, in that order, so that a later source overrides an
// earlier one and all of them override the defaults.
//
// Every setting has one dotted key ("kafka.brokers", "commit_interval"), the
// YAML path of the config file. Settings lists, for each key, the flag and the
// environment variable that also set it. The package never reads the process
// environment or flags itself: the command passes them in.
//
// The Config remembers where each value came from (a file and line, a flag,
// an environment variable) so that a problem found later, by Validate or by the
// command, can say where to fix it. Problems are reported all at once.
package config
