package app

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	yaml4 "go.yaml.in/yaml/v4"
)

// EnvPrefix starts every configuration environment variable:
// ATTUNE__SECTION__KEY sets section.key.
const EnvPrefix = "ATTUNE__"

// DefaultConfigFile is read from the working directory when neither
// --config nor ATTUNE_CONFIG names a file.
const DefaultConfigFile = "attune.yaml"

// LoadOptions says where configuration comes from, lowest priority first:
// defaults < file < environment < flags.
type LoadOptions struct {
	// File is the config file; empty means ATTUNE_CONFIG, then ./attune.yaml if present.
	File string
	// Environ is the environment to read (os.Environ when nil).
	Environ []string
	// Flags are key → value overrides from command-line flags.
	Flags map[string]any
}

// Loaded is the effective configuration and where it came from.
type Loaded struct {
	Config Config
	// File is the config file that was read, or "".
	File string
	k    *koanf.Koanf
}

// Load merges the layers, rejects unknown keys by name and reports type
// errors naming the file or environment variable they came from.
func Load(opts LoadOptions) (*Loaded, error) {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	path := opts.File
	if path == "" {
		path = lookupEnv(environ, "ATTUNE_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat(DefaultConfigFile); err == nil {
			path = DefaultConfigFile
		}
	}

	k := koanf.New(".")
	if err := k.Load(structs.Provider(DefaultConfig(), "koanf"), nil); err != nil {
		return nil, fmt.Errorf("config defaults: %w", err)
	}
	known := leafKeys(reflect.TypeOf(Config{}), "")

	var errs []error
	if path != "" {
		// Syntax first with yaml v4, whose error positions are exact (the v3
		// parser inside koanf reports some errors a line early).
		raw, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("config file %s: not found", path)
			}
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		var syntax any
		if err := yaml4.Unmarshal(raw, &syntax); err != nil {
			return nil, fmt.Errorf("config file %s: %s", path, yamlErr(err))
		}
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("config file %s: %s", path, yamlErr(err))
		}
		errs = append(errs, checkLayer(fk, known, func(key string) string { return fmt.Sprintf("%s: key %s", path, key) }))
		_ = k.Merge(fk)
	}

	ek := koanf.New(".")
	_ = ek.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, v string) (string, any) {
			return envKey(name), v
		},
	}), nil)
	errs = append(errs, checkLayer(ek, known, func(key string) string { return "environment variable " + envName(key) }))
	_ = k.Merge(ek)

	if len(opts.Flags) > 0 {
		_ = k.Load(confmap.Provider(opts.Flags, "."), nil)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: decoderConfig(&cfg)}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &Loaded{Config: cfg, File: path, k: k}, nil
}

// checkLayer rejects keys the Config does not have and values that do not
// decode into their field's type, naming where each came from.
func checkLayer(k *koanf.Koanf, known map[string]reflect.Type, where func(key string) string) error {
	var errs []error
	keys := k.Keys()
	sort.Strings(keys)
	for _, key := range keys {
		t, ok := known[key]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown configuration key%s", where(key), suggest(key, known)))
			continue
		}
		dst := reflect.New(t)
		dec, _ := mapstructure.NewDecoder(decoderConfig(dst.Interface()))
		if err := dec.Decode(k.Get(key)); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q for %s", where(key), fmt.Sprint(k.Get(key)), describeType(t)))
		}
	}
	return errors.Join(errs...)
}

func decoderConfig(out any) *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		TagName:          "koanf",
		Result:           out,
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			boolHook,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
		),
	}
}

// boolHook accepts the spellings upstream accepts: true/1/yes/on and
// false/0/no/off; anything else is an error rather than a silent false.
func boolHook(from, to reflect.Type, v any) (any, error) {
	if to.Kind() != reflect.Bool || from.Kind() != reflect.String {
		return v, nil
	}
	switch strings.ToLower(strings.TrimSpace(v.(string))) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return nil, fmt.Errorf("not a boolean: %q", v)
}

// leafKeys maps every dotted key of the struct to its field type.
func leafKeys(t reflect.Type, prefix string) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
			for k, v := range leafKeys(f.Type, key+".") {
				out[k] = v
			}
			continue
		}
		out[key] = f.Type
	}
	return out
}

func describeType(t reflect.Type) string {
	switch {
	case t.String() == "time.Duration":
		return "a duration (e.g. 30s, 5m)"
	case t.Kind() == reflect.Bool:
		return "a boolean (true/false)"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Slice:
		return "a list (YAML list or comma-separated)"
	}
	return "a " + t.Kind().String()
}

// suggest names the closest known key, for typos.
func suggest(key string, known map[string]reflect.Type) string {
	best, bestD := "", 4
	for k := range known {
		if d := levenshtein(key, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// envKey turns ATTUNE__SERVER__PORT into server.port.
func envKey(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix), "__", "."))
}

// envName turns server.port into ATTUNE__SERVER__PORT.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// yamlErr keeps the YAML parser's "line N: …" text, which is what a user
// needs to find the mistake.
func yamlErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "yaml: "); i >= 0 {
		return s[i+len("yaml: "):]
	}
	return s
}

// Redacted returns the effective configuration as a nested map with secret
// values replaced, for `attune config show`.
func (l *Loaded) Redacted() map[string]any {
	k := l.k.Copy()
	for key := range secretKeys {
		if v := k.String(key); v != "" {
			_ = k.Set(key, "<redacted>")
		}
	}
	return k.Raw()
}
