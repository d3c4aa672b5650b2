package main

import "github.com/hookstream/hookstream/internal/config"

// rulesGetenv is the environment that rules read through ${env:NAME} in
// headers and through secret_env. Whoever can write an action chooses both
// the variable and the URL its value is sent to, so the variable holding
// the Kafka password is hidden from rules: it reads as not set, and an
// action asking for it is refused. Every other variable of the worker's
// environment is readable by rules; see the README's Security section.
func rulesGetenv(cfg *config.Config, getenv func(string) string) func(string) string {
	if cfg.Kafka.SASL == nil || cfg.Kafka.SASL.PasswordEnv == "" {
		return getenv
	}
	hidden := cfg.Kafka.SASL.PasswordEnv
	return func(name string) string {
		if name == hidden {
			return ""
		}
		return getenv(name)
	}
}
