package rules

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Bounds on condition expressions. Together with the node allowlist (no
// closures, predicates, ranges or method calls) they make evaluation cost
// linear in expression size times payload size, so no timeout goroutine is
// needed per event.
const (
	maxExprLength = 4096
	maxExprNodes  = 1000
)

// compileEnv declares the only root name an expression may use. Fields under
// event.payload are dynamic, so they are typed `any` and checked at run time.
var compileEnv = map[string]any{"event": map[string]any{}}

// allowedBinary lists the operators of spec §2.7 plus harmless string
// operators. `matches` is excluded because its pattern may come from the
// payload; `..` is excluded because it allocates ranges.
var allowedBinary = map[string]bool{
	"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
	"and": true, "or": true, "&&": true, "||": true, "in": true, "not in": true,
	"+": true, "-": true, "*": true, "/": true, "%": true, "**": true, "^": true,
	"??": true, "contains": true, "not contains": true,
	"startsWith": true, "not startsWith": true, "endsWith": true, "not endsWith": true,
}

// allowedBuiltins are expr builtins kept enabled; everything else is disabled.
var allowedBuiltins = []string{"lower", "upper", "int", "float", "string", "len"}

// allowedCalls are the function names an expression may call, builtin or ours.
var allowedCalls = map[string]bool{
	"lower": true, "upper": true, "int": true, "float": true, "string": true, "len": true,
	containsFunc: true, "length": true, "match": true,
}

func exprOptions(v *nodeGuard) []expr.Option {
	opts := []expr.Option{
		expr.Env(compileEnv),
		expr.AsBool(),
		expr.MaxNodes(maxExprNodes),
		expr.DisableAllBuiltins(),
		expr.Patch(v),
		expr.Function(containsFunc, fnContains),
		expr.Function("length", fnLength),
		expr.Function("match", fnMatch),
	}
	for _, b := range allowedBuiltins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	return opts
}

// compileExpr compiles src and rejects any construct outside the allowlist.
func compileExpr(src string) (*vm.Program, error) {
	const field = "conditions.expression"
	if len(src) > maxExprLength {
		return nil, &PositionError{Field: field, Line: 1, Column: 1,
			Message: fmt.Sprintf("expression is %d bytes, the limit is %d", len(src), maxExprLength)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &PositionError{Field: field, Line: 1, Column: 1, Message: "expression is empty"}
	}
	rewritten := rewriteContainsCalls(src)
	guard := &nodeGuard{}
	program, err := expr.Compile(rewritten, exprOptions(guard)...)
	if guard.err != nil {
		return nil, guard.positionError(src, field)
	}
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			line, col := positionOf(src, runeOffsetToByte(src, fe.From))
			return nil, &PositionError{Field: field, Line: line, Column: col,
				Message: strings.ReplaceAll(fe.Message, containsFunc, "contains")}
		}
		return nil, &PositionError{Field: field, Line: 1, Column: 1, Message: err.Error()}
	}
	return program, nil
}

// runExpr evaluates a compiled expression against one event.
func runExpr(program *vm.Program, ev EventContext, payload any) (bool, error) {
	env := map[string]any{"event": map[string]any{
		"id":          ev.ID,
		"trigger":     ev.TriggerRef,
		"trigger_ref": ev.TriggerRef,
		"created":     ev.Created.UTC().Format(time.RFC3339Nano),
		"payload":     payload,
	}}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expression returned %T, not bool", out)
	}
	return b, nil
}

// nodeGuard is an expr patch visitor that records the first (leftmost)
// disallowed node. Visitors cannot fail compilation themselves, so the
// caller checks guard.err after Compile.
type nodeGuard struct {
	err  error
	from int
}

func (g *nodeGuard) reject(n ast.Node, format string, args ...any) {
	loc := n.Location()
	if g.err == nil || loc.From < g.from {
		g.err, g.from = fmt.Errorf(format, args...), loc.From
	}
}

func (g *nodeGuard) positionError(src, field string) *PositionError {
	line, col := positionOf(src, runeOffsetToByte(src, g.from))
	return &PositionError{Field: field, Line: line, Column: col, Message: g.err.Error()}
}

// Visit implements ast.Visitor.
func (g *nodeGuard) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.NilNode, *ast.IdentifierNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode,
		*ast.StringNode, *ast.ConstantNode, *ast.ChainNode, *ast.SliceNode,
		*ast.ConditionalNode, *ast.ArrayNode, *ast.MapNode, *ast.PairNode:
	case *ast.UnaryNode:
		switch n.Operator {
		case "not", "!", "-", "+":
		default:
			g.reject(n, "operator %q is not allowed", n.Operator)
		}
	case *ast.BinaryNode:
		if !allowedBinary[n.Operator] {
			g.reject(n, "operator %q is not allowed (use match(pattern, s) for regular expressions)", n.Operator)
		}
	case *ast.MemberNode:
		if n.Method {
			g.reject(n, "method calls are not allowed")
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || !allowedCalls[id.Value] {
			g.reject(n, "only the functions contains, length, lower, upper, match, int, float, string and len may be called")
			return
		}
		if id.Value == "match" {
			g.checkConstPattern(n.Arguments)
		}
	case *ast.BuiltinNode:
		if !allowedCalls[n.Name] {
			g.reject(n, "function %q is not allowed", n.Name)
		}
	default:
		g.reject(*node, "this construct is not allowed in conditions")
	}
}

// checkConstPattern reports bad literal regexps at compile time rather than
// as a silent non-match on every event.
func (g *nodeGuard) checkConstPattern(args []ast.Node) {
	if len(args) == 0 {
		return
	}
	if s, ok := args[0].(*ast.StringNode); ok {
		if _, err := compileRegexp(s.Value); err != nil {
			g.reject(s, "%v", err)
		}
	}
}
