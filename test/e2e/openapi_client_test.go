package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
)

// specClient is a client built only from the served OpenAPI document: it
// knows operations by operationId, takes method and path from the document,
// and checks every response against the document's schema for it.
type specClient struct {
	t     *testing.T
	base  string
	doc   *openapi3.T
	token string
}

func newSpecClient(t *testing.T, base string) *specClient {
	resp, err := http.Get(base + "/api-spec/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "the served document is valid OpenAPI")
	return &specClient{t: t, base: base, doc: doc}
}

// call invokes operationID with path parameters and a JSON body, asserts
// the status is documented and the body matches its schema, and returns it.
func (c *specClient) call(operationID string, params map[string]string, body any) (int, map[string]any) {
	c.t.Helper()
	var path, method string
	var item *openapi3.PathItem
	var op *openapi3.Operation
	for p, it := range c.doc.Paths.Map() {
		for m, o := range it.Operations() {
			if o.OperationID == operationID {
				path, method, item, op = p, m, it, o
			}
		}
	}
	require.NotNil(c.t, op, "operation %s is in the document", operationID)
	url := path
	for k, v := range params {
		url = strings.ReplaceAll(url, "{"+k+"}", v)
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+url, rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)

	route := &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: method, Operation: op}
	pathParams := map[string]string{}
	for k, v := range params {
		pathParams[k] = v
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw)),
	}
	require.NoError(c.t, openapi3filter.ValidateResponse(context.Background(), in),
		"%s %s answered %d with a body outside its documented schema: %s", method, url, resp.StatusCode, raw)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestClientFromOpenAPIDocument: a client that knows nothing but the served
// document logs in, lists packs, runs core.echo and reads its result.
func TestClientFromOpenAPIDocument(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{})
	c := newSpecClient(t, inst.URL)

	status, login := c.call("login", nil, map[string]any{"login": inst.Config.Security.AdminLogin, "password": inst.Config.Security.AdminPassword})
	require.Equal(t, http.StatusOK, status, login)
	tokens, _ := login["data"].(map[string]any)
	if tokens == nil {
		tokens = login
	}
	c.token, _ = tokens["access_token"].(string)
	require.NotEmpty(t, c.token)

	status, packs := c.call("listPacks", nil, nil)
	require.Equal(t, http.StatusOK, status)
	var refs []string
	for _, p := range packs["items"].([]any) {
		refs = append(refs, p.(map[string]any)["ref"].(string))
	}
	require.Contains(t, refs, "core")

	status, created := c.call("executeAction", nil, map[string]any{"action_ref": "core.echo", "parameters": map[string]any{"message": "from the contract"}})
	require.Equal(t, http.StatusCreated, status, created)
	id := int64(created["data"].(map[string]any)["id"].(float64))

	deadline := time.Now().Add(30 * time.Second)
	for {
		status, ex := c.call("getExecution", map[string]string{"id": itoa(id)}, nil)
		require.Equal(t, http.StatusOK, status)
		d := ex["data"].(map[string]any)
		if d["status"] == "completed" {
			res, _ := json.Marshal(d["result"])
			require.Contains(t, string(res), "from the contract")
			return
		}
		require.NotContains(t, []string{"failed", "timeout", "abandoned", "cancelled"}, d["status"], d)
		require.True(t, time.Now().Before(deadline), "execution %d still %v", id, d["status"])
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(i int64) string { b, _ := json.Marshal(i); return string(b) }
