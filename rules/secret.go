package rules

import "log/slog"

// Secret is a credential read from the environment: a basic-auth password or
// an OAuth2 client secret. It prints, logs and encodes as "***", so that a
// *Compiled passed to a logger or a format verb shows none; the value is
// string(s), read only where the credential is used.
type Secret string

const masked = "***"

func (Secret) String() string                 { return masked }
func (Secret) GoString() string               { return masked }
func (Secret) LogValue() slog.Value           { return slog.StringValue(masked) }
func (Secret) MarshalText() ([]byte, error)   { return []byte(masked), nil }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + masked + `"`), nil }
