package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Opts returns the client options every hookstream client shares: seed
// brokers, TLS and SASL. The SASL password is read with getenv from the
// variable named by password_env, never from the config file. Every error
// is a problem of the configuration, naming the key and where it was set.
func Opts(cfg *config.Config, getenv func(string) string) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Kafka.Brokers...),
		kgo.ClientID("hookstream"),
	}
	if t := cfg.Kafka.TLS; t != nil {
		tc, err := tlsConfig(cfg, t)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if s := cfg.Kafka.SASL; s != nil {
		pass := getenv(s.PasswordEnv)
		if pass == "" {
			return nil, fmt.Errorf("kafka.sasl.password_env (%s): environment variable %s is not set or empty",
				cfg.Origin("kafka.sasl.password_env"), s.PasswordEnv)
		}
		switch strings.ToUpper(s.Mechanism) {
		case config.MechanismPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: pass}.AsMechanism()))
		case config.MechanismScramSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism()))
		case config.MechanismScramSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism()))
		default: // Validate refuses others; this keeps a new mechanism from passing silently.
			return nil, fmt.Errorf("kafka.sasl.mechanism (%s): unsupported %q", cfg.Origin("kafka.sasl.mechanism"), s.Mechanism)
		}
	}
	return opts, nil
}

// tlsConfig loads the CA bundle and client certificate named in t.
func tlsConfig(cfg *config.Config, t *config.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file (%s): %w", cfg.Origin("kafka.tls.ca_file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file (%s): no PEM certificate in %s", cfg.Origin("kafka.tls.ca_file"), t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert_file (%s): load %s and %s: %w",
				cfg.Origin("kafka.tls.cert_file"), t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
