package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/hookstream/hookstream/internal/config"
)

// configFlags are the flags of a worker command that set config keys
// (see config.Settings), plus --config.
type configFlags struct {
	path  *string
	lists map[string]*listFlag // flag name → values of a list key
	keys  map[string]string    // flag name → config key
}

// addConfigFlags registers the config flags on fs. Defaults are not flag
// defaults: an unset flag leaves the key to the file, environment or default.
func addConfigFlags(fs *flag.FlagSet) *configFlags {
	cf := &configFlags{lists: map[string]*listFlag{}, keys: map[string]string{}}
	def := config.Default()
	for _, s := range config.Settings() {
		if s.Flag == "" {
			continue
		}
		help := fmt.Sprintf("%s (env %s", s.Usage, s.Env)
		if v := def.Value(s.Key); v != "" {
			help += ", default " + v
		}
		help += ")"
		cf.keys[s.Flag] = s.Key
		if config.IsList(s.Key) {
			l := &listFlag{}
			cf.lists[s.Flag] = l
			fs.Var(l, s.Flag, help)
		} else {
			fs.String(s.Flag, "", help)
		}
	}
	cf.path = fs.String("config", "", "YAML config `FILE` (env HOOKSTREAM_CONFIG)")
	return cf
}

// load builds the configuration: defaults, then HOOKSTREAM_* variables, then
// the config file, then the flags set on fs. Any problem is a usage error
// saying what and where.
func (c *cli) loadConfig(fs *flag.FlagSet, cf *configFlags) (config.Config, error) {
	cfg := config.Default()
	var errs []error
	if err := cfg.ApplyEnv(c.lookupEnv); err != nil {
		errs = append(errs, err)
	}
	path := *cf.path
	if path == "" {
		path = c.getenv("HOOKSTREAM_CONFIG")
	}
	if path != "" {
		if err := cfg.LoadFile(path); err != nil {
			errs = append(errs, err)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		key, ok := cf.keys[f.Name]
		if !ok {
			return
		}
		value := f.Value.String()
		if l, ok := cf.lists[f.Name]; ok {
			value = strings.Join(*l, ",")
		}
		if err := cfg.Set(key, value, "flag --"+f.Name); err != nil {
			errs = append(errs, err)
		}
	})
	if len(errs) > 0 {
		return cfg, usageError{fmt.Errorf("configuration:\n%w", errors.Join(errs...))}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{fmt.Errorf("configuration:\n%w", err)}
	}
	return cfg, nil
}
