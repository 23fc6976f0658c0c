package runner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"
)

func sampleParams() map[string]any {
	return map[string]any{
		"name":    "wörld <&>",
		"count":   3,
		"ratio":   0.5,
		"big":     json.Number("12345678901234567890"),
		"flag":    true,
		"nothing": nil,
		"list":    []any{"a", 1, map[string]any{"k": "v"}},
		"headers": map[string]any{"Content-Type": "application/json", "X": map[string]any{"Deep": "d"}},
	}
}

func TestFormatParamsJSON(t *testing.T) {
	t.Parallel()
	out, err := FormatParams(sampleParams(), FormatJSON)
	require.NoError(t, err)
	require.Equal(t,
		`{"big":12345678901234567890,"count":3,"flag":true,"headers":{"Content-Type":"application/json","X":{"Deep":"d"}},"list":["a",1,{"k":"v"}],"name":"wörld <&>","nothing":null,"ratio":0.5}`+"\n",
		string(out))
	require.Equal(t, 1, strings.Count(string(out), "\n"), "one compact line")

	empty, err := FormatParams(nil, FormatJSON)
	require.NoError(t, err)
	require.Equal(t, "{}\n", string(empty))
}

func TestFormatParamsDotenv(t *testing.T) {
	t.Parallel()
	out, err := FormatParams(sampleParams(), FormatDotenv)
	require.NoError(t, err)
	require.Equal(t, strings.Join([]string{
		`big='12345678901234567890'`,
		`count='3'`,
		`flag='true'`,
		`headers.Content-Type='application/json'`,
		`headers.X.Deep='d'`,
		`list='["a",1,{"k":"v"}]'`,
		`name='wörld <&>'`,
		`nothing=''`,
		`ratio='0.5'`,
	}, "\n")+"\n", string(out))

	q, err := FormatParams(map[string]any{"q": "it's", "nl": "a\nb"}, FormatDotenv)
	require.NoError(t, err)
	require.Equal(t, "nl='a\nb'\nq='it'\\''s'\n", string(q))
}

func TestFormatParamsDotenvRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"a b", "a=b", "a'b", "a\nb", "$(x)", ""} {
		_, err := FormatParams(map[string]any{key: "v"}, FormatDotenv)
		require.Error(t, err, "key %q", key)
		require.Contains(t, err.Error(), "dotenv parameter key")
	}
	_, err := FormatParams(map[string]any{"a.b": 1, "a": map[string]any{"b": 2}}, FormatDotenv)
	require.ErrorContains(t, err, `"a.b" is defined twice`)
}

func TestFormatParamsYAML(t *testing.T) {
	t.Parallel()
	out, err := FormatParams(sampleParams(), FormatYAML)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, yaml.Unmarshal(out, &back))
	require.Equal(t, 3, back["count"], "numbers stay numbers, not quoted strings")
	require.Equal(t, 0.5, back["ratio"])
	require.Equal(t, true, back["flag"])
	require.Nil(t, back["nothing"])
	require.Equal(t, "wörld <&>", back["name"])
	require.Equal(t, map[string]any{"Content-Type": "application/json", "X": map[string]any{"Deep": "d"}}, back["headers"])
	require.True(t, strings.HasSuffix(string(out), "\n"))
}

func TestFormatParamsErrors(t *testing.T) {
	t.Parallel()
	_, err := FormatParams(map[string]any{"x": 1}, "toml")
	require.ErrorContains(t, err, `parameter format "toml"`)
	_, err = FormatParams(map[string]any{"ch": make(chan int)}, FormatJSON)
	require.ErrorContains(t, err, "not JSON-encodable")
}

// Each format goes through a real process that echoes stdin back.
func TestParamsRoundTripThroughProcess(t *testing.T) {
	t.Parallel()
	params := map[string]any{
		"name":  "it's \"quoted\" $(touch canary) `touch canary` ; rm -rf /tmp/nope",
		"n":     42,
		"multi": "line1\nline2",
		"obj":   map[string]any{"k": "v"},
	}
	echo := script(t, `cat; echo "delivery=$ATTUNE_PARAMETER_DELIVERY format=$ATTUNE_PARAMETER_FORMAT" >&2`)

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		res := run(t, Spec{Path: echo, Params: params, ParamFormat: FormatJSON, OutputFormat: OutputJSON})
		require.Equal(t, StatusCompleted, res.Status)
		require.Equal(t, map[string]any{
			"name": params["name"], "n": json.Number("42"), "multi": "line1\nline2",
			"obj": map[string]any{"k": "v"},
		}, res.JSON["data"])
		require.NotContains(t, res.JSON, "stdout", "stdout is omitted when it parsed")
	})
	t.Run("yaml", func(t *testing.T) {
		t.Parallel()
		res := run(t, Spec{Path: echo, Params: params, ParamFormat: FormatYAML, OutputFormat: OutputYAML})
		require.Equal(t, StatusCompleted, res.Status)
		require.Equal(t, map[string]any{
			"name": params["name"], "n": 42, "multi": "line1\nline2", "obj": map[string]any{"k": "v"},
		}, res.JSON["data"])
	})
	t.Run("dotenv", func(t *testing.T) {
		t.Parallel()
		res := run(t, Spec{Path: echo, Params: params, ParamFormat: FormatDotenv, LogDir: t.TempDir()})
		require.Equal(t, StatusCompleted, res.Status)
		want, err := FormatParams(params, FormatDotenv)
		require.NoError(t, err)
		require.Equal(t, string(want), res.JSON["stdout"])
		errLog, err := os.ReadFile(res.StderrLog)
		require.NoError(t, err)
		require.Equal(t, "delivery=stdin format=dotenv\n", string(errLog))
	})
}

// A script that sources the dotenv parameters, the way a shell action
// would, must see every value verbatim and execute none of it.
func TestDotenvInjectionNeverExecutes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	payloads := []string{
		"$(touch " + canary + ")",
		"`touch " + canary + "`",
		"x; touch " + canary,
		"x' ; touch " + canary + " ; echo '",
		"'\"'\"'$(touch " + canary + ")",
		"line1\nline2'\n$(touch " + canary + ")\n",
		"&& touch " + canary + " || touch " + canary,
		"${IFS}touch${IFS}" + canary,
		"\\'$(touch " + canary + ")",
		"--flag=1 | touch " + canary,
		"ünïcødé ✓ 秘密",
	}
	params := map[string]any{}
	var printArgs []string
	for i, p := range payloads {
		key := "p" + string(rune('a'+i))
		params[key] = p
		printArgs = append(printArgs, `printf '%s\0' "$`+key+`"`)
	}
	// Source from a file, as `set -a; . file` would in a real shell action.
	body := `cd "$1" && cat > params.env && . ./params.env && ` + strings.Join(printArgs, " && ")
	res := run(t, Spec{Path: script(t, body), Args: []string{dir}, Params: params, ParamFormat: FormatDotenv, Dir: dir})
	require.Equal(t, StatusCompleted, res.Status, "%v", res.JSON)
	_, statErr := os.Stat(canary)
	require.True(t, os.IsNotExist(statErr), "canary file was created: a parameter executed")
	got := strings.Split(strings.TrimSuffix(res.JSON["stdout"].(string), "\x00"), "\x00")
	require.Equal(t, payloads, got)
}

func TestParamFileDelivery(t *testing.T) {
	t.Parallel()
	body := `p="$ATTUNE_PARAMETER_FILE"
echo "$p"
stat -c %a "$p"
stat -c %a "$(dirname "$p")"
echo "$ATTUNE_PARAMETER_DELIVERY $ATTUNE_PARAMETER_FORMAT"
cat "$p"
echo "stdin:$(cat)"`
	res := run(t, Spec{
		Path: script(t, body), Params: map[string]any{"secret": "s3cr3t-value"},
		ParamDelivery: DeliveryFile,
		// A caller-supplied value must not redirect the action.
		Env: []string{"ATTUNE_PARAMETER_FILE=/etc/passwd", "ATTUNE_PARAMETER_FORMAT=yaml", "KEEP=1"},
	})
	require.Equal(t, StatusCompleted, res.Status, "%v", res.JSON)
	lines := strings.Split(res.JSON["stdout"].(string), "\n")
	path := lines[0]
	require.True(t, strings.HasSuffix(path, "parameters.json"), path)
	require.Equal(t, "400", lines[1])
	require.Equal(t, "700", lines[2])
	require.Equal(t, "file json", lines[3])
	require.Equal(t, `{"secret":"s3cr3t-value"}`, lines[4])
	require.Equal(t, "stdin:", lines[5], "stdin is empty with file delivery")
	_, err := os.Stat(path)
	require.True(t, os.IsNotExist(err), "parameter file must be removed")
	_, err = os.Stat(filepath.Dir(path))
	require.True(t, os.IsNotExist(err), "parameter dir must be removed")
}

func TestEnvIsExactlyTheCallers(t *testing.T) {
	t.Parallel()
	res := run(t, Spec{
		Path: script(t, `echo "home=${HOME-unset} keep=$KEEP d=$ATTUNE_PARAMETER_DELIVERY f=$ATTUNE_PARAMETER_FORMAT file=${ATTUNE_PARAMETER_FILE-unset}"`),
		Env:  []string{"KEEP=yes", "ATTUNE_PARAMETER_DELIVERY=file", "ATTUNE_PARAMETER_FILE=/etc/shadow"},
	})
	require.Equal(t, "home=unset keep=yes d=stdin f=json file=unset\n", res.JSON["stdout"])
}

// An action that never reads stdin and exits must not hang the runner or
// fail because of the broken pipe, even with more than a pipe buffer of
// parameters.
func TestBrokenStdinPipeIgnored(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4<<20)
	start := time.Now()
	res, err := Run(context.Background(), Spec{Path: script(t, "exit 0"), Params: map[string]any{"big": big}, Timeout: 20 * time.Second})
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, res.Status)
	require.Less(t, time.Since(start), 10*time.Second)
}
