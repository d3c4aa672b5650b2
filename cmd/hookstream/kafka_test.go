package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/config"
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
	dir := t.TempDir()
	caFile, serverCert := testCA(t, dir)
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
		cfg.Kafka.TLS = &config.TLS{CAFile: filepath.Join(dir, "nope.pem")}
		if _, err := (&cli{lookupEnv: os.LookupEnv}).kafkaOpts(&cfg); err == nil {
			t.Error("kafkaOpts with a missing CA file succeeded")
		}
	})
}

// testCA writes a CA certificate to dir and returns its path with a server
// certificate for 127.0.0.1 signed by it.
func testCA(t *testing.T, dir string) (string, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookstream test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
}
