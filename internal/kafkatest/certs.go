package kafkatest

import (
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
)

// CA is a throw-away certificate authority. It and every certificate it
// issues are valid from an hour ago to an hour from now.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Cert is a certificate and its private key.
type Cert struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA returns a fresh CA with the given common name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	c := issue(t, nil, &x509.Certificate{Subject: pkix.Name{CommonName: name},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	return &CA{Cert: c.Cert, Key: c.Key}
}

// Pool is a certificate pool holding only ca.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// File writes ca's certificate as PEM to a file in a temporary directory and
// returns its path: what a ca_file setting names.
func (ca *CA) File(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, path, "CERTIFICATE", ca.Cert.Raw)
	return path
}

// Server issues a server certificate for 127.0.0.1 and localhost.
func (ca *CA) Server(t testing.TB, name string) *Cert {
	t.Helper()
	return issue(t, ca, &x509.Certificate{Subject: pkix.Name{CommonName: name},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
}

// Client issues a client certificate (for mutual TLS) with common name name.
func (ca *CA) Client(t testing.TB, name string) *Cert {
	t.Helper()
	return issue(t, ca, &x509.Certificate{Subject: pkix.Name{CommonName: name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
}

// ServerTLS is a server configuration presenting a fresh certificate for
// 127.0.0.1 from ca. With mutual, it requires a client certificate issued by
// ca. Give it to kfake.TLS or to an httptest server before StartTLS.
func (ca *CA) ServerTLS(t testing.TB, mutual bool) *tls.Config {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.Server(t, "127.0.0.1").TLS()}, MinVersion: tls.VersionTLS12}
	if mutual {
		cfg.ClientCAs, cfg.ClientAuth = ca.Pool(), tls.RequireAndVerifyClientCert
	}
	return cfg
}

// TLS returns c for a tls.Config's Certificates.
func (c *Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
}

// Files writes c's certificate and key as PEM files to a temporary directory
// and returns their paths: what cert_file and key_file settings name.
func (c *Cert) Files(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", c.Cert.Raw)
	writePEM(t, keyFile, "PRIVATE KEY", der)
	return certFile, keyFile
}

// issue creates a certificate from tmpl signed by ca, or self-signed when ca
// is nil.
func issue(t testing.TB, ca *CA, tmpl *x509.Certificate) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatalf("serial: %v", err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	parent, parentKey := tmpl, key
	if ca != nil {
		parent, parentKey = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return &Cert{Cert: cert, Key: key}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
