// Package access turns a verified JWT into a Principal: the caller's identity
// plus an rbac.Subject holding its effective grants. The API and the notifier
// both call Resolve on every request or subscription, and both decide what a
// caller may see with the helpers here, so the two surfaces can never
// disagree about visibility.
//
// # Effective grants
//
//   - access and integration tokens: the grants of every permission set
//     assigned to the identity, plus rbac.ImplicitGrants (the core pack is
//     visible and executable by every signed-in user, spec T3.11).
//   - execution tokens: the executor identity's assigned grants plus
//     rbac.StandardExecutionGrants for the token's execution, all capped by
//     the execution ceiling in rbac (a token started by an admin still cannot
//     change configuration).
//   - sensor tokens: rbac.SensorGrants for the sensor's pack, ref and
//     trigger types only.
//
// A permission set row whose grants do not parse contributes nothing (fail
// closed). Built-in core.* sets are seeded by EnsureBuiltinSets from
// rbac.BuiltinGrants when the core pack has not registered them yet, so
// authentication works on a fresh database; the pack registrar later
// overwrites those rows with the pack's YAML (same data).
//
// # Token claims this package expects
//
// Tokens are HS256 JWTs minted with security.TokenIssuer and the shared
// security.jwt_secret. Common claims: sub = identity id, login, token_type,
// jti, exp. Per type:
//
//   - access: minted by the API at /auth/login, /auth/refresh and
//     /auth/token-login. The jti must be recorded in auth_token (the API
//     does this) and not revoked; unknown or revoked jtis are rejected, which
//     is how logout and password changes take effect before expiry. Tokens
//     from /auth/token-login carry scope "integration_token" and
//     metadata integration_token_id; the integration token must still be
//     usable (not revoked or expired).
//   - execution: minted by the worker for one execution. sub = the
//     execution's executor (or SystemIdentityID), login "execution:<id>",
//     metadata execution_id (required) and pack_ref (the action's pack),
//     ttl = timeout + 60 s. The token is accepted only while that
//     execution's status is non-terminal (checked in the database on every
//     Resolve, never cached), so it dies with the execution.
//   - sensor: minted by the sensor module. metadata pack_ref, sensor_ref and
//     trigger_types (list of trigger refs the sensor may post events for).
//     Recording the jti in auth_token (store.AuthTokenInsert, token_type
//     "sensor") makes the token revocable; an unrecorded sensor token is
//     accepted until it expires.
//
// Refresh and worker tokens never resolve to a Principal (refresh tokens are
// only accepted by /auth/refresh).
//
// # Visibility
//
// Resources a caller may not read must answer 404, never 403 (spec §9.1
// Hiding): use CanRead / CanSeeKey first and return domain.ErrNotFound when
// they fail; only then check the mutating action and return
// domain.ErrForbidden. Identity-owned keys are private to their owner:
// besides keys:read they need the caller to be the owner or to hold
// keys:manage (administrators).
package access
