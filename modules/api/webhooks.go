package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub's legacy X-Hub-Signature; only when a trigger selects it
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) webhookRoutes() []Route {
	return []Route{
		// Public: the key in the path is the credential (spec §5.3).
		{Method: "POST", Path: "/api/v1/webhooks/{key}", OperationID: "receiveWebhook", Auth: Public, Handler: m.receiveWebhook, SelfGoverned: true},
	}
}

// maxWebhookDepth bounds JSON nesting of webhook bodies: deeper documents are
// rejected before decoding, so a hostile body cannot drive the decoder (or
// later the rule engine) into deep recursion.
const maxWebhookDepth = 64

// webhookCacheTTL bounds how long a key → trigger lookup is reused. The
// accepted path re-checks the key inside its transaction, so a disabled or
// regenerated webhook never creates an event; the cache only saves the
// lookup for the validation steps.
const webhookCacheTTL = 3 * time.Second

type webhookEntry struct {
	trig    store.Trigger
	cfg     WebhookConfig
	nets    []netip.Prefix
	cfgErr  error
	expires time.Time
}

type webhookCacheKey struct {
	st  *store.Store
	key string
}

var webhookCache = struct {
	sync.Mutex
	m map[webhookCacheKey]webhookEntry
}{m: map[webhookCacheKey]webhookEntry{}}

// forgetWebhook drops a cached key → trigger lookup; call it after disabling
// or regenerating a trigger's webhook so this process sees it at once.
func forgetWebhook(key string) {
	webhookCache.Lock()
	defer webhookCache.Unlock()
	for k := range webhookCache.m {
		if k.key == key {
			delete(webhookCache.m, k)
		}
	}
}

// webhookTrigger resolves a key, from the cache when fresh.
func (m *Module) webhookTrigger(c echo.Context, key string) (webhookEntry, error) {
	ck := webhookCacheKey{m.d.Store, key}
	now := time.Now()
	webhookCache.Lock()
	e, ok := webhookCache.m[ck]
	webhookCache.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	t, err := m.d.Store.TriggerGetByWebhookKey(c.Request().Context(), key)
	if err != nil {
		return webhookEntry{}, err
	}
	e = webhookEntry{trig: t, expires: now.Add(webhookCacheTTL)}
	if len(t.WebhookConfig) > 0 {
		if err := json.Unmarshal(t.WebhookConfig, &e.cfg); err != nil {
			e.cfgErr = err
		}
	}
	if e.cfg.IPWhitelist == nil {
		e.cfg.IPWhitelist = &WebhookIPWhitelist{}
	}
	if e.cfg.RateLimit == nil {
		e.cfg.RateLimit = &WebhookRateLimit{}
	}
	if e.cfg.HMAC == nil {
		e.cfg.HMAC = &WebhookHMAC{}
	}
	for _, s := range e.cfg.IPWhitelist.IPs {
		p, err := parsePrefix(s)
		if err != nil {
			e.cfgErr = err
			break
		}
		e.nets = append(e.nets, p)
	}
	webhookCache.Lock()
	if len(webhookCache.m) > 10_000 {
		clear(webhookCache.m)
	}
	webhookCache.m[ck] = e
	webhookCache.Unlock()
	return e, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// webhookReq carries one request's outcome to its webhook_event_log row.
type webhookReq struct {
	entry webhookEntry
	key   string
	start time.Time
	ip    string
	ua    string
	size  int
	hdrs  json.RawMessage
	hmac  *bool
	ipOK  *bool
	rate  bool
}

func (r *webhookReq) log(status int, msg string, eventID *int64) store.WebhookLogEntry {
	st, ms, size := int32(status), int32(time.Since(r.start).Milliseconds()), int32(r.size)
	e := store.WebhookLogEntry{TriggerID: r.entry.trig.ID, TriggerRef: r.entry.trig.Ref, WebhookKey: r.key,
		EventID: eventID, SourceIP: &r.ip, PayloadSizeBytes: &size, Headers: r.hdrs, StatusCode: &st,
		ProcessingTimeMS: &ms, HMACVerified: r.hmac, RateLimited: r.rate, IPAllowed: r.ipOK}
	if r.ua != "" {
		e.UserAgent = &r.ua
	}
	if msg != "" {
		e.ErrorMessage = &msg
	}
	return e
}

// reject writes the log row of a rejected request and returns its error.
func (m *Module) reject(c echo.Context, r *webhookReq, err *APIError) error {
	actx, cancel := detach(c)
	defer cancel()
	if lerr := m.d.Store.WebhookLogInsert(actx, r.log(err.Status, err.Message, nil)); lerr != nil {
		m.d.Log.Error("webhook log write failed", "trigger", r.entry.trig.Ref, "err", lerr)
	}
	return err
}

// receiveWebhook is POST /api/v1/webhooks/{key}. The raw body is the event
// payload. Checks run in spec §5.3 order; every outcome for a known key is
// logged in webhook_event_log (an unknown key has no trigger to log
// against). The 202 is written only after the event committed.
func (m *Module) receiveWebhook(c echo.Context) error {
	key := c.Param("key")
	entry, err := m.webhookTrigger(c, key)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.NotFoundf("webhook")
	}
	if err != nil {
		return err
	}
	req := c.Request()
	r := &webhookReq{entry: entry, key: key, start: time.Now(), ip: sourceIP(c), ua: req.UserAgent(),
		hdrs: recordedHeaders(req.Header)}
	t := entry.trig
	switch {
	case !t.Enabled:
		return m.reject(c, r, badRequest("trigger %s is disabled", t.Ref))
	case !t.WebhookEnabled:
		return m.reject(c, r, badRequest("webhooks are not enabled for trigger %s", t.Ref))
	case entry.cfgErr != nil:
		m.d.Log.Error("invalid webhook_config", "trigger", t.Ref, "err", entry.cfgErr)
		return m.reject(c, r, &APIError{Status: http.StatusInternalServerError, Code: "INTERNAL_SERVER_ERROR",
			Message: "webhook is misconfigured"})
	}
	cfg := entry.cfg

	// Size: the smaller of the server cap and the trigger's own limit.
	limit := m.d.Server.MaxBodySize
	if limit <= 0 {
		limit = 10 << 20
	}
	if kb := int64(cfg.PayloadSizeLimitKB); kb > 0 && kb*1024 < limit {
		limit = kb * 1024
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	r.size = len(body)
	var maxErr *http.MaxBytesError
	if int64(len(body)) > limit || errors.As(err, &maxErr) {
		return m.reject(c, r, &APIError{Status: http.StatusRequestEntityTooLarge, Code: "PAYLOAD_TOO_LARGE",
			Message: "webhook body larger than " + itoa64(limit) + " bytes"})
	}
	if err != nil {
		return m.reject(c, r, badRequest("could not read the request body"))
	}

	if cfg.IPWhitelist.Enabled {
		ok := ipAllowed(r.ip, entry.nets)
		r.ipOK = &ok
		if !ok {
			return m.reject(c, r, &APIError{Status: http.StatusForbidden, Code: "FORBIDDEN", Message: "source address not allowed"})
		}
	}

	if rl := cfg.RateLimit; rl.Enabled && rl.Requests > 0 && rl.WindowSeconds > 0 {
		window := time.Duration(rl.WindowSeconds) * time.Second
		n, err := m.d.Store.WebhookLogCountRecent(req.Context(), t.ID, key, r.ip, window)
		if err != nil {
			return err
		}
		if n >= int64(rl.Requests) {
			r.rate = true
			return m.reject(c, r, tooManyRequests(window))
		}
	}

	if cfg.HMAC.Enabled {
		ok, err := m.verifyWebhookHMAC(t.Ref, cfg, req.Header, body)
		if err != nil {
			m.d.Log.Error("webhook hmac secret unavailable", "trigger", t.Ref, "err", err)
			return m.reject(c, r, &APIError{Status: http.StatusInternalServerError, Code: "INTERNAL_SERVER_ERROR",
				Message: "webhook secret unavailable"})
		}
		r.hmac = &ok
		if !ok {
			return m.reject(c, r, &APIError{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "missing or invalid signature"})
		}
	}

	if err := checkJSONDepth(body, maxWebhookDepth); err != nil {
		return m.reject(c, r, badRequest("%s", err.Error()))
	}
	if !json.Valid(body) {
		return m.reject(c, r, badRequest("malformed JSON body"))
	}
	return m.ingestWebhook(c, r, body)
}

// ingestWebhook stores the event, its EventCreated message and the accepted
// request's log row atomically, and answers only after they committed.
func (m *Module) ingestWebhook(c echo.Context, r *webhookReq, body []byte) error {
	t := r.entry.trig
	received := r.start.UTC()
	cfg := map[string]any{
		"source": "webhook", "webhook_key": maskWebhookKey(r.key), "received_at": received,
		"headers": r.hdrs, "source_ip": r.ip, "user_agent": r.ua, "hmac_verified": r.hmac != nil && *r.hmac,
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	src := "webhook"
	ne := store.NewEvent{Trigger: &t.ID, TriggerRef: t.Ref, Config: cfgJSON, Payload: body, SourceRef: &src}
	if k := strings.TrimSpace(c.Request().Header.Get("Idempotency-Key")); k != "" {
		if len(k) > 255 {
			return m.reject(c, r, badRequest("Idempotency-Key longer than 255 characters"))
		}
		// Scoped per trigger: two senders may pick the same key.
		scoped := "webhook:" + itoa64(t.ID) + ":" + k
		ne.IdempotencyKey = &scoped
	}
	ctx := c.Request().Context()
	// The common case — a new event on an enabled webhook — is one
	// statement; duplicates and a webhook disabled since the lookup take the
	// transaction below, which tells them apart.
	ev, created, err := pipeline.IngestWebhookEvent(ctx, m.d.Store, ne, r.log(http.StatusAccepted, "", nil))
	if err == nil && !created {
		ev, created, err = m.ingestWebhookTx(ctx, r, ne)
	}
	if errors.Is(err, domain.ErrNotFound) {
		forgetWebhook(r.key) // disabled or regenerated since the lookup
		return domain.NotFoundf("webhook")
	}
	var bad *domain.ValidationError
	if errors.As(err, &bad) {
		// Valid JSON that PostgreSQL cannot store: a \u0000 in a string,
		// a number beyond jsonb's range.
		return m.reject(c, r, badRequest("body cannot be stored as an event payload: %s", bad.Msg))
	}
	if err != nil {
		return err
	}
	status, msg := http.StatusAccepted, "Webhook received successfully"
	if !created {
		status, msg, received = http.StatusOK, "Duplicate delivery: event already recorded", ev.Created.UTC()
	}
	return data(c, status, map[string]any{"event_id": ev.ID, "trigger_ref": t.Ref, "received_at": received, "message": msg})
}

// ingestWebhookTx records the event (or finds the earlier one with the same
// Idempotency-Key) and the request's log row in one transaction; the log
// insert finds no enabled webhook — domain.ErrNotFound — when it was
// disabled or its key regenerated since the lookup, and the event is rolled
// back with it.
func (m *Module) ingestWebhookTx(ctx context.Context, r *webhookReq, ne store.NewEvent) (ev store.Event, created bool, err error) {
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if ev, created, err = pipeline.IngestEventTx(ctx, tx, ne); err != nil {
			return err
		}
		status := http.StatusAccepted
		if !created {
			status = http.StatusOK
		}
		return tx.WebhookLogInsertIfEnabled(ctx, r.log(status, "", &ev.ID))
	})
	return ev, created, err
}

// verifyWebhookHMAC checks X-Hub-Signature-256 ("sha256=<hex>") or
// X-Webhook-Signature ("<hex>" or "<algo>=<hex>") over the raw body, in
// constant time.
func (m *Module) verifyWebhookHMAC(ref string, cfg WebhookConfig, h http.Header, body []byte) (bool, error) {
	var secret string
	keyHash := cfg.HMAC.SecretKeyHash
	if keyHash == "" {
		keyHash = m.box.KeyHash()
	}
	if err := m.box.DecryptRow(cfg.HMAC.SecretSealed, keyHash, WebhookSecretAAD(ref), &secret); err != nil {
		return false, err
	}
	algo := strings.ToLower(cfg.HMAC.Algorithm)
	if algo == "" {
		algo = "sha256"
	}
	var newHash func() hash.Hash
	switch algo {
	case "sha256":
		newHash = sha256.New
	case "sha512":
		newHash = sha512.New
	case "sha1":
		newHash = sha1.New
	default:
		return false, errors.New("unsupported hmac algorithm " + algo)
	}
	sig := h.Get("X-Webhook-Signature")
	if sig == "" && algo == "sha256" {
		sig = h.Get("X-Hub-Signature-256")
	}
	if sig == "" && algo == "sha1" {
		sig = h.Get("X-Hub-Signature")
	}
	if p, v, ok := strings.Cut(sig, "="); ok {
		if strings.ToLower(p) != algo {
			return false, nil
		}
		sig = v
	}
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) == 0 {
		return false, nil
	}
	mac := hmac.New(newHash, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil)), nil
}

// ipAllowed reports whether ip falls in one of nets. The source address is
// the TCP peer (X-Forwarded-For is not trusted: it would let anyone pass the
// allowlist by sending the header).
func ipAllowed(ip string, nets []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// checkJSONDepth rejects documents nested deeper than max without decoding
// them (a byte scan that skips strings).
func checkJSONDepth(b []byte, max int) error {
	depth, inStr, esc := 0, false, false
	for _, ch := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case ch == '\\':
				esc = true
			case ch == '"':
				inStr = false
			}
		case ch == '"':
			inStr = true
		case ch == '{' || ch == '[':
			depth++
			if depth > max {
				return errors.New("JSON body nested deeper than " + itoa(max) + " levels")
			}
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return nil
}

// maskWebhookKey keeps enough of the key to tell webhooks apart in events
// without storing the credential itself.
func maskWebhookKey(k string) string {
	if len(k) <= 10 {
		return "***"
	}
	return k[:7] + "…" + k[len(k)-4:]
}

// recordedHeaders keeps the request headers worth recording beside the
// event, without credentials: authorization, cookies, signatures and
// anything named like a token, secret or key are dropped; values are
// bounded.
func recordedHeaders(h http.Header) json.RawMessage {
	out := make(map[string]string, len(h))
	for name, vals := range h {
		if len(out) >= 64 || sensitiveHeader(name) {
			continue
		}
		v := strings.Join(vals, ", ")
		if len(v) > 1024 {
			v = v[:1024]
		}
		out[name] = v
	}
	b, _ := json.Marshal(out)
	return b
}

func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"signature", "token", "secret", "auth", "api-key", "apikey", "password", "session", "cookie"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
