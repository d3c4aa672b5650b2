package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CheckTimeout bounds Check.
const CheckTimeout = 10 * time.Second

// Check connects to the brokers once, before a worker or a command starts,
// so that settings that can never work (a wrong password or user, a mechanism
// the brokers do not offer, a broker certificate the CA file does not vouch
// for, a client certificate the brokers refuse, TLS on one side only) end
// the process at once with a message naming the setting, instead of a worker
// that franz-go keeps retrying in silence. It returns nil once connected, a
// *RefusedError when the brokers refused the credentials or the TLS
// settings, and otherwise the error that kept it from connecting: brokers
// that cannot be reached may still be starting, and the clients keep
// trying.
//
// The message never holds the password; it names the variable it came from.
func Check(ctx context.Context, cfg *config.Config, opts []kgo.Opt) error {
	cl, err := kgo.NewClient(append(opts[:len(opts):len(opts)], kgo.RequestRetries(1))...)
	if err != nil {
		return refusedf("kafka: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	err = cl.Ping(ctx)
	if err == nil {
		return nil
	}
	if refused := brokerRefusal(cfg, err); refused != nil {
		return refused
	}
	return err
}

// RefusedError says the brokers refused hookstream's credentials or TLS
// settings, and which setting to check.
type RefusedError struct{ msg string }

func (e *RefusedError) Error() string { return e.msg }

func refusedf(format string, args ...any) error {
	return &RefusedError{fmt.Sprintf(format, args...)}
}

// brokerRefusal returns a *RefusedError when err says the brokers refused our
// credentials or our TLS settings, and nil when it may be passing.
func brokerRefusal(cfg *config.Config, err error) error {
	var firstEOF *kgo.ErrFirstReadEOF
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var op *net.OpError
	s := cfg.Kafka.SASL
	switch {
	case s != nil && (errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.IllegalSaslState) ||
		errors.Is(err, kerr.UnsupportedSaslMechanism) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		// Brokers that refuse a SASL exchange answer with an error or
		// simply close the connection; either way the credentials or the
		// mechanism are wrong.
		return refusedf("kafka.sasl (%s): the brokers refused %s authentication as %q with the password from %s: %v "+
			"(check kafka.sasl.username, the password and kafka.sasl.mechanism)",
			cfg.Origin("kafka.sasl.mechanism"), s.Mechanism, s.Username, s.PasswordEnv, err)
	case errors.As(err, &firstEOF):
		// franz-go's text says which of TLS or SASL looks missing.
		return refusedf("kafka: %v", err)
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &badCert), errors.As(err, &verify):
		return refusedf("kafka.tls: the brokers' certificate is not trusted: %v (check kafka.tls.ca_file and kafka.tls.server_name)", err)
	case errors.As(err, &op) && op.Op == "remote error", errors.As(err, &record):
		// crypto/tls reports an alert from the brokers (a refused or
		// missing client certificate) as a "remote error".
		return refusedf("kafka.tls: TLS with the brokers failed: %v (check kafka.tls.cert_file and key_file, and that the listener speaks TLS)", err)
	}
	return nil
}
