package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
)

// Config is everything `hookstream run` is configured with. The yaml tags are
// the keys of the config file.
type Config struct {
	Kafka             Kafka         `yaml:"kafka"`
	RulesFile         string        `yaml:"rules_file"`          // static rules instead of the rules topic
	HTTP              string        `yaml:"http"`                // metrics, health and status address
	MaxEventBytes     int           `yaml:"max_event_bytes"`     // larger records are dead-lettered
	MaxBufferedEvents int           `yaml:"max_buffered_events"` // bound on events in memory
	MaxBufferedBytes  int           `yaml:"max_buffered_bytes"`  // bound on their values' bytes
	CommitInterval    time.Duration `yaml:"commit_interval"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	Delivery          Delivery      `yaml:"delivery"`
	Log               Log           `yaml:"log"`

	// origin maps a key to where its value was set; unset keys are defaults.
	origin map[string]string
}

// Kafka says how to reach the cluster and which topics and group to use.
type Kafka struct {
	Brokers    []string `yaml:"brokers"`
	Topics     []string `yaml:"topics"`
	Group      string   `yaml:"group"`
	RulesTopic string   `yaml:"rules_topic"`
	DLQTopic   string   `yaml:"dlq_topic"`
	RetryTopic string   `yaml:"retry_topic"`
	TLS        *TLS     `yaml:"tls"`  // nil = plaintext
	SASL       *SASL    `yaml:"sasl"` // nil = no authentication

	// SessionTimeout is how long the group waits for a member that stopped
	// heartbeating (a crash) before it gives its partitions to the others.
	// The brokers bound it (group.min/max.session.timeout.ms, 6s..30m by
	// default).
	SessionTimeout time.Duration `yaml:"session_timeout"`
}

// TLS enables TLS to the brokers. With no CA file the system roots are used;
// a client certificate needs both CertFile and KeyFile.
type TLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"` // default: the broker's host
}

// SASL authenticates to the brokers. The password is never in the config:
// PasswordEnv names the environment variable that holds it.
type SASL struct {
	Mechanism   string `yaml:"mechanism"` // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
}

// Delivery restricts which endpoints webhooks may be sent to.
type Delivery struct {
	AllowedHosts        []string `yaml:"allowed_hosts"`         // when set, no other host is dialled
	DenyPrivateNetworks bool     `yaml:"deny_private_networks"` // refuse loopback, private, link-local, metadata
}

// Log chooses the log encoding and level.
type Log struct {
	Format string `yaml:"format"` // json (default) or text
	Level  string `yaml:"level"`  // debug, info (default), warn or error
}

// SASL mechanisms hookstream speaks.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// Default returns the configuration used when nothing else is said.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:    []string{"127.0.0.1:9092"},
			Topics:     []string{"events"},
			Group:      "hookstream",
			RulesTopic: "hookstream.rules",
			DLQTopic:   deadletter.DefaultTopic,
			RetryTopic: deadletter.DefaultRetryTopic,

			SessionTimeout: 45 * time.Second,
		},
		HTTP:              "127.0.0.1:9464",
		MaxEventBytes:     1 << 20,
		MaxBufferedEvents: 100000,
		MaxBufferedBytes:  256 << 20,
		CommitInterval:    time.Second,
		ShutdownTimeout:   30 * time.Second,
		Log:               Log{Format: "json", Level: "info"},
	}
}

// Origin says where the value of key was set: "FILE:LINE", "flag --NAME",
// "env NAME", or "default".
func (c *Config) Origin(key string) string {
	if o, ok := c.origin[key]; ok {
		return o
	}
	return "default"
}

func (c *Config) setOrigin(key, origin string) {
	if c.origin == nil {
		c.origin = make(map[string]string)
	}
	c.origin[key] = origin
}

// topicName is what Kafka accepts as a topic name.
var topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// Validate reports every problem of c at once, each naming its key and where
// the value came from.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", key, c.Origin(key), fmt.Sprintf(format, args...)))
	}
	if len(c.Kafka.Brokers) == 0 {
		bad("kafka.brokers", "want at least one host:port")
	}
	for _, b := range c.Kafka.Brokers {
		if err := checkHostPort(b); err != nil {
			bad("kafka.brokers", "%q: %v", b, err)
		}
	}
	if len(c.Kafka.Topics) == 0 {
		bad("kafka.topics", "want at least one topic")
	}
	for _, t := range c.Kafka.Topics {
		if !topicName.MatchString(t) {
			bad("kafka.topics", "%q is not a topic name ([A-Za-z0-9._-], 1 to 249 characters)", t)
		}
	}
	if c.Kafka.Group == "" {
		bad("kafka.group", "want a consumer group name")
	}
	for key, t := range map[string]string{
		"kafka.rules_topic": c.Kafka.RulesTopic,
		"kafka.dlq_topic":   c.Kafka.DLQTopic,
		"kafka.retry_topic": c.Kafka.RetryTopic,
	} {
		if !topicName.MatchString(t) {
			bad(key, "%q is not a topic name ([A-Za-z0-9._-], 1 to 249 characters)", t)
		}
		if slices.Contains(c.Kafka.Topics, t) {
			bad(key, "%q is also a source topic in kafka.topics", t)
		}
	}
	if tls := c.Kafka.TLS; tls != nil && (tls.CertFile == "") != (tls.KeyFile == "") {
		bad("kafka.tls", "cert_file and key_file go together: set both or neither")
	}
	if s := c.Kafka.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		default:
			bad("kafka.sasl.mechanism", "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", s.Mechanism)
		}
		if s.Username == "" {
			bad("kafka.sasl.username", "want a user name")
		}
		if s.PasswordEnv == "" {
			bad("kafka.sasl.password_env", "want the name of the environment variable holding the password")
		}
	}
	if err := checkHostPort(c.HTTP); err != nil {
		bad("http", "%q: %v", c.HTTP, err)
	}
	if c.MaxEventBytes <= 0 {
		bad("max_event_bytes", "want a positive number of bytes, got %d", c.MaxEventBytes)
	}
	if c.MaxBufferedEvents <= 0 {
		bad("max_buffered_events", "want a positive number of events, got %d", c.MaxBufferedEvents)
	}
	if c.MaxBufferedBytes <= 0 {
		bad("max_buffered_bytes", "want a positive number of bytes, got %d", c.MaxBufferedBytes)
	}
	if c.Kafka.SessionTimeout < time.Second {
		bad("kafka.session_timeout", "want at least 1s, got %s", c.Kafka.SessionTimeout)
	}
	if c.CommitInterval <= 0 {
		bad("commit_interval", "want a positive duration, got %s", c.CommitInterval)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "want a positive duration, got %s", c.ShutdownTimeout)
	}
	for _, h := range c.Delivery.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/: ") {
			bad("delivery.allowed_hosts", "%q: want a host name such as hooks.example.com", h)
		}
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "want json or text, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want 0..65535", port)
	}
	return nil
}
