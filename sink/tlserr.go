package sink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
)

// certificateProblem says why a TLS handshake failed on certificates, or
// returns "" for any other error. Such a failure is permanent (SPEC §2): no
// retry presents another certificate or makes the server's trusted, so the
// events are dead-lettered as rejected with this reason. A connection that
// breaks during the handshake is not a certificate problem and is retried
// like any network error.
//
// The server's complaints about our certificate arrive as TLS alerts: with
// TLS 1.3, after the client thinks the handshake done, so they surface on
// the request rather than the dial.
func certificateProblem(err error) string {
	var (
		unknown   x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		alert     tls.AlertError
	)
	switch {
	case errors.As(err, &unknown):
		return "tls: the server's certificate is signed by an authority this action does not trust (tls.ca_file): " + unknown.Error()
	case errors.As(err, &hostname):
		return "tls: the server's certificate is not valid for this host: " + hostname.Error()
	case errors.As(err, &invalid):
		return "tls: the server's certificate is invalid: " + invalid.Error()
	case errors.As(err, &verifyErr):
		return "tls: the server's certificate could not be verified: " + verifyErr.Err.Error()
	case errors.As(err, &alert) && refusalAlert(alert.Error()):
		return "tls: the server wants a client certificate it trusts (tls.cert_file, tls.key_file): " + alert.Error()
	}
	// crypto/tls reports a received alert as a *net.OpError around an
	// unexported type, which net/http does not always wrap: match its text.
	msg := err.Error()
	if i := strings.Index(msg, "remote error: tls: "); i >= 0 && refusalAlert(msg[i+len("remote error: "):]) {
		return "tls: the server wants a client certificate it trusts (tls.cert_file, tls.key_file): " + msg[i:]
	}
	return ""
}

// refusalAlerts are the TLS alerts a server sends when it refuses the
// client's certificate, as crypto/tls names them.
var refusalAlerts = []string{
	"tls: bad certificate", "tls: unsupported certificate", "tls: revoked certificate",
	"tls: expired certificate", "tls: unknown certificate", "tls: unknown certificate authority",
	"tls: access denied", "tls: certificate required",
}

func refusalAlert(text string) bool {
	for _, a := range refusalAlerts {
		if strings.HasPrefix(text, a) {
			return true
		}
	}
	return false
}
