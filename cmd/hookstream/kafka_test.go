package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ping connects with the options kafkaOpts built and asks for metadata.
func ping(t *testing.T, opts []kgo.Opt) error {
	t.Helper()
	cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(2*time.Second), kgo.RequestRetries(1))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

func TestKafkaOptsSASL(t *testing.T) {
	tests := []struct {
		mechanism string
		password  string
		ok        bool
	}{
		{"PLAIN", "right", true},
		{"SCRAM-SHA-256", "right", true},
		{"scram-sha-512", "right", true},
		{"SCRAM-SHA-512", "wrong", false},
	}
	for _, tt := range tests {
		t.Run(tt.mechanism+"/"+tt.password, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
				kfake.Superuser(config.MechanismPlain, "plain-user", "right"),
				kfake.Superuser(config.MechanismScramSHA256, "user", "right"),
				kfake.Superuser(config.MechanismScramSHA512, "user", "right"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			cfg := config.Default()
			cfg.Kafka.Brokers = c.ListenAddrs()
			user := "user"
			if tt.mechanism == "PLAIN" {
				user = "plain-user"
			}
			cfg.Kafka.SASL = &config.SASL{Mechanism: tt.mechanism, Username: user, PasswordEnv: "KAFKA_PASSWORD"}
			cl := &cli{lookupEnv: func(k string) (string, bool) {
				if k == "KAFKA_PASSWORD" {
					return tt.password, true
				}
				return "", false
			}}
			opts, err := cl.kafkaOpts(&cfg)
			if err != nil {
				t.Fatalf("kafkaOpts: %v", err)
			}
			if err := ping(t, opts); (err == nil) != tt.ok {
				t.Errorf("ping: %v, want success %v", err, tt.ok)
			}
		})
	}
}

func TestKafkaOptsTLS(t *testing.T) {
	ca := kafkatest.NewCA(t, "hookstream test CA")
	caFile, serverCert := ca.File(t), ca.Server(t, "127.0.0.1").TLS()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	tests := []struct {
		name string
		tls  *config.TLS
		ok   bool
	}{
		{"trusted CA", &config.TLS{CAFile: caFile}, true},
		{"system roots do not know the CA", &config.TLS{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Kafka.Brokers = c.ListenAddrs()
			cfg.Kafka.TLS = tt.tls
			opts, err := (&cli{lookupEnv: os.LookupEnv}).kafkaOpts(&cfg)
			if err != nil {
				t.Fatalf("kafkaOpts: %v", err)
			}
			if err := ping(t, opts); (err == nil) != tt.ok {
				t.Errorf("ping: %v, want success %v", err, tt.ok)
			}
		})
	}

	t.Run("missing CA file", func(t *testing.T) {
		cfg := config.Default()
		cfg.Kafka.TLS = &config.TLS{CAFile: filepath.Join(t.TempDir(), "nope.pem")}
		if _, err := (&cli{lookupEnv: os.LookupEnv}).kafkaOpts(&cfg); err == nil {
			t.Error("kafkaOpts with a missing CA file succeeded")
		}
	})
}
