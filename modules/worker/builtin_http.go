package worker

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/runner"
)

// httpParams are core.http_request's parameters (spec §3), after defaults.
type httpParams struct {
	URL             string            `json:"url"`
	Method          string            `json:"method"`
	Headers         map[string]string `json:"headers"`
	Body            *string           `json:"body"`
	JSONBody        any               `json:"json_body"`
	QueryParams     map[string]string `json:"query_params"`
	Timeout         float64           `json:"timeout"`
	VerifySSL       *bool             `json:"verify_ssl"`
	AuthType        string            `json:"auth_type"`
	AuthUsername    string            `json:"auth_username"`
	AuthPassword    string            `json:"auth_password"`
	AuthToken       string            `json:"auth_token"`
	FollowRedirects *bool             `json:"follow_redirects"`
	MaxRedirects    *int              `json:"max_redirects"`
}

// runHTTPRequest is the Go implementation of core.http_request. It runs in
// the worker process but keeps the runner's contract: the execution timeout
// and cancellation (ctx) stop it, the result has the runner's shape with the
// response in data, and every secret is masked before it leaves.
func runHTTPRequest(ctx context.Context, s runner.Spec) *runner.Result {
	start := time.Now()
	red := runner.NewRedactor(s.Secrets)
	finish := func(status string, exit int, data map[string]any, errText string) *runner.Result {
		j := map[string]any{"exit_code": exit, "duration_ms": time.Since(start).Milliseconds(), "succeeded": status == runner.StatusCompleted}
		if data != nil {
			j["data"] = data
		}
		if errText != "" {
			j["error"] = errText
		}
		if status == runner.StatusCancelled {
			j["cancelled"] = true
		}
		b, _ := json.Marshal(j)
		var masked map[string]any
		_ = json.Unmarshal(red.Bytes(b), &masked)
		return &runner.Result{Status: status, ExitCode: exit, DurationMS: time.Since(start).Milliseconds(), JSON: masked}
	}
	var p httpParams
	b, _ := json.Marshal(s.Params)
	if err := json.Unmarshal(b, &p); err != nil {
		return finish(runner.StatusFailed, 1, nil, "core.http_request: invalid parameters: "+err.Error())
	}
	req, client, err := p.build()
	if err != nil {
		return finish(runner.StatusFailed, 1, nil, "core.http_request: "+err.Error())
	}
	// The execution timeout bounds the whole action; the request timeout
	// parameter only the HTTP exchange.
	execCtx, cancelExec := ctx, context.CancelFunc(func() {})
	if s.Timeout > 0 {
		execCtx, cancelExec = context.WithTimeout(ctx, s.Timeout)
	}
	defer cancelExec()
	resp, err := client.Do(req.WithContext(execCtx))
	var data map[string]any
	if err == nil {
		data, err = readResponse(resp, s.MaxStdout, start)
	}
	switch {
	case ctx.Err() != nil:
		return finish(runner.StatusCancelled, -1, data, "Execution cancelled by user")
	case execCtx.Err() != nil:
		return finish(runner.StatusTimeout, -1, data, fmt.Sprintf("Execution timed out after %d seconds", int(s.Timeout.Seconds())))
	case err != nil:
		return finish(runner.StatusFailed, 1, map[string]any{"success": false, "error": err.Error(), "url": p.URL}, err.Error())
	case data["success"] != true:
		return finish(runner.StatusFailed, 1, data, fmt.Sprintf("HTTP %v", data["status_code"]))
	}
	return finish(runner.StatusCompleted, 0, data, "")
}

func (p httpParams) build() (*http.Request, *http.Client, error) {
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("parameter url: %q is not an absolute http(s) URL", p.URL)
	}
	if len(p.QueryParams) > 0 {
		q := u.Query()
		for k, v := range p.QueryParams {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	method := strings.ToUpper(p.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	ctype := ""
	switch {
	case p.JSONBody != nil:
		b, err := json.Marshal(p.JSONBody)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter json_body: %w", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	case p.Body != nil:
		body = strings.NewReader(*p.Body)
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("parameter method: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	switch p.AuthType {
	case "", "none":
	case "basic":
		req.SetBasicAuth(p.AuthUsername, p.AuthPassword)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+p.AuthToken)
	default:
		return nil, nil, fmt.Errorf("parameter auth_type: unknown value %q (none, basic, bearer)", p.AuthType)
	}
	timeout := 30 * time.Second
	if p.Timeout > 0 {
		timeout = time.Duration(p.Timeout * float64(time.Second))
	}
	maxRedirects := 10
	if p.MaxRedirects != nil {
		maxRedirects = *p.MaxRedirects
	}
	follow := p.FollowRedirects == nil || *p.FollowRedirects
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if p.VerifySSL != nil && !*p.VerifySSL {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // explicit verify_ssl: false
	}
	client := &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if !follow {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects (max_redirects)", maxRedirects)
			}
			return nil
		}}
	return req, client, nil
}

// readResponse keeps at most limit bytes of the body (the action's output
// cap), marking the result truncated beyond it.
func readResponse(resp *http.Response, limit int64, start time.Time) (map[string]any, error) {
	defer resp.Body.Close()
	if limit <= 0 {
		limit = runner.DefaultMaxCapture
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	data := map[string]any{}
	if int64(len(raw)) > limit {
		raw = raw[:limit]
		data["body_truncated"] = true
	}
	headers := map[string]any{}
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	var parsed any
	if json.Unmarshal(raw, &parsed) != nil {
		parsed = nil
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	data["status_code"] = resp.StatusCode
	data["headers"] = headers
	data["body"] = strings.ToValidUTF8(string(raw), "\uFFFD")
	data["json"] = parsed
	data["elapsed_ms"] = time.Since(start).Milliseconds()
	data["url"] = resp.Request.URL.String()
	data["success"] = ok
	data["error"] = nil
	if !ok {
		data["error"] = resp.Status
	}
	return data, nil
}
