package rules

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TLS is an action's own TLS settings, for its endpoint only (and its OAuth2
// token endpoint, which is dialled the same way): a private CA to trust, and
// a client certificate to present (mTLS). Paths are on the worker's machine;
// Compile reads and checks the files.
type TLS struct {
	CAFile   string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`     // PEM certificates; replaces the system roots for this endpoint
	CertFile string `json:"cert_file,omitempty" yaml:"cert_file,omitempty"` // PEM client certificate (chain), with KeyFile
	KeyFile  string `json:"key_file,omitempty" yaml:"key_file,omitempty"`   // PEM private key of CertFile
}

// ErrFileElsewhere, wrapped by an Options.ReadFile error, says that a file
// is not on this machine but on the workers' (rules validate and apply on
// an operator's laptop): its checks are skipped rather than failed.
var ErrFileElsewhere = errors.New("file not on this machine")

// compileTLS reads and checks the files of a.TLS and returns the TLS
// configuration for the action's endpoint, or nil when it has no tls.
// Messages name the field and the path, never a file's content.
func compileTLS(a *Action, opt Options, add func(field, value, msg string)) *tls.Config {
	t := a.TLS
	if t == nil {
		return nil
	}
	if t.CAFile == "" && t.CertFile == "" && t.KeyFile == "" {
		add("tls", "", "want ca_file, or cert_file and key_file, or all three")
		return nil
	}
	if u := strings.ToLower(a.URL); strings.HasPrefix(u, "http://") {
		add("tls", "", "the url is http: tls applies to https URLs")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	ok := true
	if t.CAFile != "" {
		if pool, good := readCAs(t.CAFile, opt, add); good {
			cfg.RootCAs = pool
		} else {
			ok = false
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		add("tls.key_file", "", "required with cert_file")
		ok = false
	case t.KeyFile != "" && t.CertFile == "":
		add("tls.cert_file", "", "required with key_file")
		ok = false
	case t.CertFile != "":
		if cert, good := readKeyPair(t.CertFile, t.KeyFile, opt, add); good {
			if cert != nil {
				cfg.Certificates = []tls.Certificate{*cert}
			}
		} else {
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return cfg
}

// readFile reads one file of the tls section. skip: the file is elsewhere
// and its checks do not apply here.
func readFile(field, path string, opt Options, add func(field, value, msg string)) (data []byte, skip, ok bool) {
	read := opt.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(path)
	switch {
	case errors.Is(err, ErrFileElsewhere):
		return nil, true, true
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		add(field, quoted(path), "cannot read: "+err.Error())
		return nil, false, false
	}
	return data, false, true
}

// readCAs reads a PEM file of CA certificates.
func readCAs(path string, opt Options, add func(field, value, msg string)) (*x509.CertPool, bool) {
	const field = "tls.ca_file"
	data, skip, ok := readFile(field, path, opt, add)
	if skip || !ok {
		return nil, ok
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			add(field, quoted(path), fmt.Sprintf("certificate %d: %v", n, err))
			return nil, false
		}
		pool.AddCert(c)
	}
	if n == 0 {
		add(field, quoted(path), "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file")
		return nil, false
	}
	return pool, true
}

// readKeyPair reads a client certificate and its key. The key's content
// never reaches a message: crypto/tls's errors name only what is wrong.
func readKeyPair(certPath, keyPath string, opt Options, add func(field, value, msg string)) (*tls.Certificate, bool) {
	certPEM, skipCert, okCert := readFile("tls.cert_file", certPath, opt, add)
	keyPEM, skipKey, okKey := readFile("tls.key_file", keyPath, opt, add)
	if !okCert || !okKey {
		return nil, false
	}
	if skipCert || skipKey {
		return nil, true
	}
	var b *pem.Block
	for rest := certPEM; ; {
		b, rest = pem.Decode(rest)
		if b == nil || b.Type == "CERTIFICATE" {
			break
		}
	}
	if b == nil {
		add("tls.cert_file", quoted(certPath), "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file")
		return nil, false
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		add("tls.cert_file", quoted(certPath), err.Error())
		return nil, false
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		add("tls.key_file", quoted(keyPath), strings.TrimPrefix(err.Error(), "tls: "))
		return nil, false
	}
	return &cert, true
}

func (d *nodeDecoder) tls(n *yaml.Node) *TLS {
	ps, ok := d.mapping(n, "tls")
	if !ok {
		return nil
	}
	t := &TLS{}
	for _, p := range ps {
		field := "tls." + p.key
		d.pos[field] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "ca_file":
			t.CAFile = d.str(v, field)
		case "cert_file":
			t.CertFile = d.str(v, field)
		case "key_file":
			t.KeyFile = d.str(v, field)
		default:
			d.fail(p.knode, field, "unknown field")
		}
	}
	return t
}
