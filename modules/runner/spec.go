package runner

import (
	"fmt"
	"time"
)

// Parameter formats (spec §4.2 step 5).
const (
	FormatJSON   = "json"
	FormatDotenv = "dotenv"
	FormatYAML   = "yaml"
)

// Parameter delivery modes.
const (
	DeliveryStdin = "stdin"
	DeliveryFile  = "file"
)

// Output formats (spec §4.2 step 10).
const (
	OutputText  = "text"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
	OutputJSONL = "jsonl"
)

// Defaults applied by Run when the corresponding Spec field is zero.
const (
	DefaultKillGrace   = 10 * time.Second
	DefaultMaxCapture  = 10 << 20 // bytes of stdout/stderr kept for the result
	DefaultMaxLogBytes = 64 << 20 // bytes of each stream kept in its log file
)

// Spec describes one action process. The caller (the worker) resolves the
// interpreter, entrypoint, environment, timeout and secrets; the runner only
// launches, feeds, watches, captures and redacts.
type Spec struct {
	// Path is the program to execute. It is never interpreted by a shell.
	Path string
	// Args are the arguments after the program name (argv[1:]).
	Args []string
	// Dir is the working directory (the pack directory).
	Dir string
	// Env is the complete environment of the action, built by the caller.
	// The runner only adds ATTUNE_PARAMETER_DELIVERY, ATTUNE_PARAMETER_FORMAT
	// and, for file delivery, ATTUNE_PARAMETER_FILE (overriding any caller
	// value of those names). A nil Env means an empty environment, never the
	// worker's own.
	Env []string
	// Params is the merged parameter map, secrets included. It goes to the
	// process on stdin or in a private file, never in argv or env.
	Params map[string]any
	// ParamFormat is json (default), dotenv or yaml.
	ParamFormat string
	// ParamDelivery is stdin (default) or file.
	ParamDelivery string
	// Timeout bounds the run; zero or negative means no timeout.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL. Defaults to 10s.
	KillGrace time.Duration
	// MaxStdout and MaxStderr cap the bytes of each stream kept in memory
	// and in the result. Defaults to 10 MiB each.
	MaxStdout, MaxStderr int64
	// LogDir, when set, receives stdout.log and stderr.log (mode 0600), each
	// capped at MaxLogBytes. The directory (0700) and each file are created
	// on the stream's first byte: a stream that printed nothing has no file.
	LogDir string
	// MaxLogBytes caps each log file. Defaults to 64 MiB.
	MaxLogBytes int64
	// OutputFormat is text (default), json, yaml or jsonl.
	OutputFormat string
	// Secrets are literal values masked everywhere output leaves the runner.
	Secrets []string
	// SecretOutputFields are fields of the parsed output (top-level names or
	// dotted paths) whose values are replaced by "***".
	SecretOutputFields []string
}

// withDefaults returns a copy of s with defaults filled in, or an error
// naming the first invalid field.
func (s Spec) withDefaults() (Spec, error) {
	if s.Path == "" {
		return s, fmt.Errorf("runner: Spec.Path is empty")
	}
	if s.ParamFormat == "" {
		s.ParamFormat = FormatJSON
	}
	switch s.ParamFormat {
	case FormatJSON, FormatDotenv, FormatYAML:
	default:
		return s, fmt.Errorf("runner: Spec.ParamFormat %q: want json, dotenv or yaml", s.ParamFormat)
	}
	if s.ParamDelivery == "" {
		s.ParamDelivery = DeliveryStdin
	}
	switch s.ParamDelivery {
	case DeliveryStdin, DeliveryFile:
	default:
		return s, fmt.Errorf("runner: Spec.ParamDelivery %q: want stdin or file", s.ParamDelivery)
	}
	if s.OutputFormat == "" {
		s.OutputFormat = OutputText
	}
	switch s.OutputFormat {
	case OutputText, OutputJSON, OutputYAML, OutputJSONL:
	default:
		return s, fmt.Errorf("runner: Spec.OutputFormat %q: want text, json, yaml or jsonl", s.OutputFormat)
	}
	if s.KillGrace <= 0 {
		s.KillGrace = DefaultKillGrace
	}
	if s.MaxStdout <= 0 {
		s.MaxStdout = DefaultMaxCapture
	}
	if s.MaxStderr <= 0 {
		s.MaxStderr = DefaultMaxCapture
	}
	if s.MaxLogBytes <= 0 {
		s.MaxLogBytes = DefaultMaxLogBytes
	}
	return s, nil
}
