package main

import (
	"io"
	"log/slog"

	"github.com/hookstream/hookstream/internal/config"
)

// newLogger returns the process logger, writing to out (stderr).
func newLogger(cfg config.Log, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated: debug, info, warn, error
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}
