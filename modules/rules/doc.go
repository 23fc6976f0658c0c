// Package rules holds the pure logic that turns an event into an enforcement:
// rule conditions (Compile, Condition.Match, Cache) and the action_params
// template resolver (ResolveParams, ValidateTemplates). Spec §2.7.
//
// Conditions come in three forms: always (`{}`, `[]`, null), an expr-lang
// expression over `event.{id,trigger,trigger_ref,created,payload}`, and the
// legacy list of {field, operator, value} checks. Expressions are restricted
// to an allowlist of node types, operators and functions (contains, length,
// lower, upper, match, int, float, string, len); closures, predicates such
// as map/filter, ranges, `let`, method calls and the `matches` operator are
// rejected at compile time with a *PositionError. Expression length
// (4 KiB), AST size (1000 nodes), regexp length (1 KiB) and payload size
// (100k values, depth 64) are capped, so evaluation cost is bounded without a
// timeout goroutine. Any evaluation problem means "no match", never a panic.
//
// Templates are data-only: inside `{{ }}` there is a path into event.*,
// pack.config.* or system.*, or a literal, followed by at most eight of the
// filters default(x), tojson, upper and lower. Unknown namespaces (`env`,
// `.Foo`) are syntax errors, so server-side template injection has nothing to
// reach (guarantees-and-security §3.1 item 2).
package rules
