package app

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// NewLogger builds the process logger: JSON when w is not a terminal (or
// format=json), readable colour text on a terminal (or format=pretty).
// Attributes whose key names a secret are redacted whatever their value, so a
// careless log call cannot leak one.
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	pretty := cfg.Format == "pretty"
	if cfg.Format == "auto" || cfg.Format == "" {
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			pretty = true
		}
	}
	if pretty {
		return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly, ReplaceAttr: redactAttr}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}))
}

// sensitiveAttr reports attribute keys whose values are never logged.
func sensitiveAttr(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"password", "secret", "token", "encryption_key", "authorization", "cookie", "api_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if sensitiveAttr(a.Key) && a.Value.Kind() != slog.KindGroup {
		return slog.String(a.Key, "<redacted>")
	}
	return a
}
