// Package security holds attune's security primitives as pure libraries with
// no I/O of their own: Argon2id password hashing, HS256 JWT issue/verify,
// opaque integration and webhook tokens, AES-256-GCM secret encryption, a
// literal secret masker and an in-memory keyed rate limiter. The RBAC engine
// lives in the rbac subpackage.
//
// Nothing here logs or reads the environment; callers pass secrets in
// explicitly so they never end up in argv, env or logs by accident.
package security
