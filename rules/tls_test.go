package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/tls holds a CA, a client certificate it signed with its key, and
// an unrelated key, all valid for a century.
func tlsFile(name string) string { return filepath.Join("testdata", "tls", name) }

func TestTLSCompiles(t *testing.T) {
	a := valid()
	a.TLS = &TLS{CAFile: tlsFile("ca.pem"), CertFile: tlsFile("client.pem"), KeyFile: tlsFile("client-key.pem")}
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.TLSConfig
	if cfg == nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.Certificates[0].Leaf == nil ||
		cfg.Certificates[0].Leaf.Subject.CommonName != "hookstream test client" {
		t.Fatalf("tls config = %+v", cfg)
	}
	a.TLS = &TLS{CAFile: tlsFile("ca.pem")}
	if c, err := Compile(a, Options{}); err != nil || c.TLSConfig.RootCAs == nil || len(c.TLSConfig.Certificates) != 0 {
		t.Errorf("ca_file alone: %v %+v", err, c)
	}
	if c, err := Compile(valid(), Options{}); err != nil || c.TLSConfig != nil {
		t.Errorf("no tls: %v %+v", err, c)
	}
}

func TestTLSProblems(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	badBlock := filepath.Join(dir, "bad-block.pem")
	keyData, err := os.ReadFile(tlsFile("client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string]string{
		garbage:  "not a certificate\n",
		badBlock: "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		tls  string
		line int      // of the field, or of tls: for a missing one
		want []string // the first with the line
	}{
		{"missing ca", `ca_file: ` + missing, 6, []string{fmt.Sprintf(`tls.ca_file %q: cannot read: no such file or directory`, missing)}},
		{"ca not pem", `ca_file: ` + garbage, 6, []string{`tls.ca_file`, `no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`}},
		{"ca bad block", `ca_file: ` + badBlock, 6, []string{`tls.ca_file`, `certificate 1: x509: malformed certificate`}},
		{"cert without key", `cert_file: ` + tlsFile("client.pem"), 5, []string{`tls.key_file: required with cert_file`}},
		{"key without cert", `key_file: ` + tlsFile("client-key.pem"), 5, []string{`tls.cert_file: required with key_file`}},
		{"cert not pem", `key_file: ` + tlsFile("client-key.pem") + "\n    cert_file: " + garbage, 7, []string{`tls.cert_file`, `no PEM certificate`}},
		{"key of another cert", `cert_file: ` + tlsFile("client.pem") + "\n    key_file: " + tlsFile("other-key.pem"), 7, []string{`tls.key_file`, `private key does not match public key`}},
		{"key is a certificate", `cert_file: ` + tlsFile("client.pem") + "\n    key_file: " + tlsFile("ca.pem"), 7, []string{`tls.key_file`, `found a certificate rather than a key`}},
		{"unknown field", `ca_path: /etc/ssl`, 6, []string{`tls.ca_path: unknown field`, `tls: want ca_file, or cert_file and key_file`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "actions:\n- id: a\n  trigger: type == \"track\"\n  url: https://x.example.com/\n  tls:\n    " + tt.tls + "\n"
			_, err := LoadYAML([]byte(file), "rules.yaml", Options{})
			if err == nil {
				t.Fatal("LoadYAML accepted the action")
			}
			if !strings.Contains(err.Error(), fmt.Sprintf(`rules.yaml:%d: action "a": %s`, tt.line, tt.want[0])) {
				t.Errorf("errors:\n%s\nlack, on its line:\n%s", err, tt.want[0])
			}
			for _, w := range tt.want[1:] {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%s\nlack:\n%s", err, w)
				}
			}
			if strings.Contains(err.Error(), strings.Split(string(keyData), "\n")[1]) {
				t.Errorf("key material shows: %v", err)
			}
		})
	}
}

func TestTLSWantsHTTPS(t *testing.T) {
	a := valid()
	a.URL = "http://x.example.com/"
	a.TLS = &TLS{CAFile: tlsFile("ca.pem")}
	if _, err := Compile(a, Options{}); err == nil || !strings.Contains(err.Error(), `tls: the url is http: tls applies to https URLs`) {
		t.Errorf("Compile = %v", err)
	}
}

// TestTLSFileElsewhere: commands run away from the workers skip the checks
// of files that are not there, as they do for unset variables.
func TestTLSFileElsewhere(t *testing.T) {
	a := valid()
	a.TLS = &TLS{CAFile: "/etc/hookstream/ca.pem", CertFile: "/etc/hookstream/c.pem", KeyFile: "/etc/hookstream/k.pem"}
	var asked []string
	read := func(name string) ([]byte, error) {
		asked = append(asked, name)
		return nil, fmt.Errorf("%s: %w", name, ErrFileElsewhere)
	}
	if _, err := Compile(a, Options{ReadFile: read}); err != nil {
		t.Errorf("Compile = %v", err)
	}
	if len(asked) != 3 {
		t.Errorf("read %v, want the three files", asked)
	}
	if _, err := Compile(a, Options{ReadFile: func(string) ([]byte, error) { return nil, fs.ErrPermission }}); err == nil ||
		!strings.Contains(err.Error(), `tls.ca_file "/etc/hookstream/ca.pem": cannot read: permission denied`) {
		t.Errorf("an unreadable file: %v", err)
	}
}
