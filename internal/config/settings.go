package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Setting ties a config key to the flag and the environment variable that
// also set it.
type Setting struct {
	Key   string // dotted config-file key, e.g. "kafka.brokers"
	Flag  string // `hookstream run` flag name without dashes; "" = none
	Env   string // environment variable
	Usage string // one line for --help; a `WORD` in backquotes names the flag's argument
}

// Settings lists every key that a flag or an environment variable can set,
// in the order --help shows them.
func Settings() []Setting {
	return []Setting{
		{"kafka.brokers", "brokers", "HOOKSTREAM_BROKERS", "Kafka seed brokers as `HOST:PORT` (comma-separated or repeated)"},
		{"kafka.topics", "topic", "HOOKSTREAM_TOPIC", "source topic `NAME` (repeatable)"},
		{"kafka.group", "group", "HOOKSTREAM_GROUP", "consumer group `NAME`"},
		{"kafka.rules_topic", "rules-topic", "HOOKSTREAM_RULES_TOPIC", "`NAME` of the compacted topic holding the actions"},
		{"kafka.dlq_topic", "dlq-topic", "HOOKSTREAM_DLQ_TOPIC", "`NAME` of the dead-letter topic"},
		{"kafka.retry_topic", "retry-topic", "HOOKSTREAM_RETRY_TOPIC", "`NAME` of the topic for events of a parked action"},
		{"kafka.session_timeout", "", "HOOKSTREAM_SESSION_TIMEOUT", "how long the group waits for a crashed member before moving its partitions"},
		{"kafka.tls.ca_file", "", "HOOKSTREAM_TLS_CA_FILE", "CA bundle for the brokers' certificates (enables TLS)"},
		{"kafka.tls.cert_file", "", "HOOKSTREAM_TLS_CERT_FILE", "client certificate (enables TLS)"},
		{"kafka.tls.key_file", "", "HOOKSTREAM_TLS_KEY_FILE", "client key (enables TLS)"},
		{"kafka.tls.server_name", "", "HOOKSTREAM_TLS_SERVER_NAME", "name expected in the brokers' certificates (enables TLS)"},
		{"kafka.sasl.mechanism", "", "HOOKSTREAM_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{"kafka.sasl.username", "", "HOOKSTREAM_SASL_USERNAME", "SASL user"},
		{"kafka.sasl.password_env", "", "HOOKSTREAM_SASL_PASSWORD_ENV", "name of the variable holding the SASL password"},
		{"rules_file", "rules", "HOOKSTREAM_RULES", "static rules `FILE` instead of the rules topic"},
		{"http", "http", "HOOKSTREAM_HTTP", "`ADDR` of /metrics, /healthz, /readyz and the status page"},
		{"max_event_bytes", "max-event-bytes", "HOOKSTREAM_MAX_EVENT_BYTES", "records larger than `N` bytes are dead-lettered (too_large)"},
		{"max_buffered_events", "max-buffered-events", "HOOKSTREAM_MAX_BUFFERED_EVENTS", "`N` events held in memory before fetching pauses"},
		{"max_buffered_bytes", "max-buffered-bytes", "HOOKSTREAM_MAX_BUFFERED_BYTES", "`N` bytes of event values held in memory before fetching pauses"},
		{"commit_interval", "commit-interval", "HOOKSTREAM_COMMIT_INTERVAL", "`DURATION` between commits of delivered offsets"},
		{"shutdown_timeout", "shutdown-timeout", "HOOKSTREAM_SHUTDOWN_TIMEOUT", "longest `DURATION` to deliver what is in hand on exit"},
		{"delivery.allowed_hosts", "", "HOOKSTREAM_ALLOWED_HOSTS", "only these webhook hosts are dialled (comma-separated)"},
		{"delivery.deny_private_networks", "", "HOOKSTREAM_DENY_PRIVATE_NETWORKS", "refuse loopback, private, link-local and metadata addresses"},
		{"log.format", "log-format", "HOOKSTREAM_LOG_FORMAT", "log `FORMAT`: json or text"},
		{"log.level", "log-level", "HOOKSTREAM_LOG_LEVEL", "log `LEVEL`: debug, info, warn or error"},
	}
}

// ApplyEnv sets every key whose environment variable lookup finds with a
// non-empty value. Variables are named in Settings; others are ignored.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	var errs []error
	for _, s := range Settings() {
		if v, ok := lookup(s.Env); ok && v != "" {
			errs = append(errs, c.Set(s.Key, v, "env "+s.Env))
		}
	}
	return errors.Join(errs...)
}

// Set parses value into key and records origin as where it came from. Lists
// take comma-separated values; durations take Go duration strings ("1s").
func (c *Config) Set(key, value, origin string) error {
	f, err := field(reflect.ValueOf(c).Elem(), key)
	if err != nil {
		return fmt.Errorf("%s (%s): %w", key, origin, err)
	}
	if err := parseInto(f, value); err != nil {
		return fmt.Errorf("%s (%s): %w", key, origin, err)
	}
	c.setOrigin(key, origin)
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// parseInto sets the leaf f from its text form.
func parseInto(f reflect.Value, s string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as \"500ms\" or \"30s\", got %q", s)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		f.SetBool(b)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var list []string
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, part)
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("is a section, not a value")
	}
	return nil
}

// field finds the leaf named by a dotted key, allocating optional sections
// (such as kafka.tls) on the way.
func field(v reflect.Value, key string) (reflect.Value, error) {
	for name := range strings.SplitSeq(key, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("unknown key")
		}
		i, ok := fieldIndex(v.Type(), name)
		if !ok {
			return reflect.Value{}, fmt.Errorf("unknown key")
		}
		v = v.Field(i)
	}
	return v, nil
}

// fieldIndex returns the index of the field of struct type t whose yaml tag
// is name.
func fieldIndex(t reflect.Type, name string) (int, bool) {
	for i := range t.NumField() {
		if yamlName(t.Field(i)) == name {
			return i, true
		}
	}
	return 0, false
}

// yamlName is the config key of a struct field; "" for unexported fields.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// keysOf lists the keys a section accepts, for "unknown key" messages.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" {
			keys = append(keys, n)
		}
	}
	return keys
}

// IsList reports whether key holds a list (so that repeated flags add up
// rather than the last one winning).
func IsList(key string) bool {
	var c Config
	f, err := field(reflect.ValueOf(&c).Elem(), key)
	return err == nil && f.Kind() == reflect.Slice
}

// Value returns the value of key as text, as Set would take it; "" for an
// unknown key or an unset optional section.
func (c *Config) Value(key string) string {
	v := reflect.ValueOf(c).Elem()
	for name := range strings.SplitSeq(key, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return ""
		}
		i, ok := fieldIndex(v.Type(), name)
		if !ok {
			return ""
		}
		v = v.Field(i)
	}
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Slice:
		return strings.Join(v.Interface().([]string), ",")
	case v.Kind() == reflect.Struct || v.Kind() == reflect.Pointer:
		return ""
	default:
		return fmt.Sprint(v.Interface())
	}
}
