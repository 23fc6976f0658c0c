package runner

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// leakForms lists the forms of s that must never reach a sink. Forms
// embedded in longer base64 blobs are only listed for secrets long enough
// to leave a maskable core (short ones would mask unrelated output).
func leakForms(s string) []string {
	j, _ := json.Marshal(s)
	forms := []string{
		s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s)),
		url.QueryEscape(s),
		url.PathEscape(s),
		string(j[1 : len(j)-1]),
	}
	if len(s) >= 8 {
		forms = append(forms,
			base64.StdEncoding.EncodeToString([]byte("user:"+s)),
			base64.StdEncoding.EncodeToString([]byte(s+"\n")))
	}
	return forms
}

// An action echoes every secret in every encoding to stdout and stderr;
// no form may appear in the result, the error text or the log files.
func TestSecretsNeverLeaveTheRunner(t *testing.T) {
	t.Parallel()
	var payload strings.Builder
	for _, s := range trickySecrets {
		for _, f := range leakForms(s) {
			payload.WriteString("[" + f + "]\n")
		}
	}
	// The filler makes a secret likely to straddle the 64 KiB read chunks.
	body := `cat > "$1/p.env" && . "$1/p.env" && rm "$1/p.env"
head -c 65530 /dev/zero | tr '\0' 'f'
printf '%s' "$payload"
printf '%s' "$payload" >&2
printf 'final line %s\n' "$last" >&2
exit 1`
	dir, logs := t.TempDir(), t.TempDir()
	res := run(t, Spec{
		Path: script(t, body), Args: []string{dir}, LogDir: logs,
		Params:      map[string]any{"payload": payload.String(), "last": trickySecrets[0]},
		ParamFormat: FormatDotenv, Secrets: trickySecrets,
	})
	require.Equal(t, StatusFailed, res.Status)
	require.Contains(t, res.JSON["stdout"], "["+Mask+"]")
	require.Equal(t, "final line "+Mask, res.JSON["error"], "stderr has >5 lines: last line, redacted")
	outLog, err := os.ReadFile(res.StdoutLog)
	require.NoError(t, err)
	errLog, err := os.ReadFile(res.StderrLog)
	require.NoError(t, err)
	require.Greater(t, len(outLog), 65530)
	sinks := map[string]string{"result": resultStrings(t, res.JSON), "stdout.log": string(outLog), "stderr.log": string(errLog)}
	for _, s := range trickySecrets {
		for _, f := range leakForms(s) {
			for name, sink := range sinks {
				require.NotContains(t, sink, f, "%s leaked form %q of secret %q", name, f, s)
			}
		}
	}
}

// Parsed output is redacted too, and secret output fields are masked.
func TestSecretsRedactedFromParsedData(t *testing.T) {
	t.Parallel()
	out, err := json.Marshal(map[string]any{
		"pem": testPEM, "utf8": "x pässwörd-秘密 y", "re": "$1\\", "api_key": "not-a-known-secret",
		"list": []any{".*", "ok"},
	})
	require.NoError(t, err)
	res := run(t, Spec{
		Path: script(t, `cat > "$1/p.env" && . "$1/p.env" && echo "log line" && printf '%s\n' "$out"`), Args: []string{t.TempDir()},
		Params: map[string]any{"out": string(out)}, ParamFormat: FormatDotenv,
		OutputFormat: OutputJSON, Secrets: trickySecrets, SecretOutputFields: []string{"api_key"},
	})
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, map[string]any{
		"pem": Mask, "utf8": "x " + Mask + " y", "re": Mask, "api_key": Mask, "list": []any{Mask, "ok"},
	}, res.JSON["data"])
	all := resultStrings(t, res.JSON)
	for _, s := range trickySecrets {
		require.NotContains(t, all, s)
	}
	require.NotContains(t, all, "not-a-known-secret")
}

// YAML output can re-flow a multi-line secret into an indented block; each
// of its lines is still masked, and the parsed value is masked whole.
func TestSecretsRedactedFromYAMLBlock(t *testing.T) {
	t.Parallel()
	res := run(t, Spec{
		Path: script(t, `cat > "$1/p.env" && . "$1/p.env" && printf 'key: |\n' && printf '%s\n' "$pem" | sed 's/^/  /'`),
		Args: []string{t.TempDir()}, Env: []string{"PATH=/usr/bin:/bin"},
		Params: map[string]any{"pem": testPEM}, ParamFormat: FormatDotenv, OutputFormat: OutputYAML, Secrets: []string{testPEM},
	})
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, map[string]any{"key": Mask + "\n" + Mask + "\n" + Mask + "\n" + Mask + "\n"}, res.JSON["data"])
}
