package rules

import (
	"encoding/json"
	"testing"
)

func BenchmarkCompileMatch(b *testing.B) {
	conds := exprJSON(`event.payload.severity == "critical" and event.payload.count >= 3`)
	e := ev(samplePayload)
	for b.Loop() {
		c, err := Compile(conds)
		if err != nil || !c.Match(e) {
			b.Fatal("no match", err)
		}
	}
}

func BenchmarkMatchCompiled(b *testing.B) {
	c, _ := Compile(exprJSON(`event.payload.severity == "critical" and event.payload.count >= 3`))
	e := ev(samplePayload)
	for b.Loop() {
		if !c.Match(e) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkResolveParams(b *testing.B) {
	params := json.RawMessage(`{"url":"{{ pack.config.webhook_url }}","method":"POST","id":"{{ event.id }}",
		"text":"Alert {{ event.payload.severity }} via {{ system.rule.ref }}","tags":"{{ event.payload.tags }}"}`)
	ctx := tctx()
	for b.Loop() {
		if _, err := ResolveParams(params, ctx); err != nil {
			b.Fatal(err)
		}
	}
}
