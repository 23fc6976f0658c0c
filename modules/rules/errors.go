package rules

import (
	"fmt"
	"strings"
)

// PositionError is a compile-time error in a condition expression or a
// template, located by 1-based line and column (columns count runes) so
// editors and API clients can point at the offending character.
type PositionError struct {
	// Field names what was being parsed, e.g. "conditions.expression" or
	// "action_params.json_body.text".
	Field   string
	Line    int
	Column  int
	Message string
}

// Error formats the error as "field:line:column: message".
func (e *PositionError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Field, e.Line, e.Column, e.Message)
}

// positionOf converts a byte offset in src into a 1-based line and rune column.
func positionOf(src string, offset int) (line, col int) {
	if offset > len(src) {
		offset = len(src)
	}
	if offset < 0 {
		offset = 0
	}
	before := src[:offset]
	line = strings.Count(before, "\n") + 1
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, len([]rune(before)) + 1
}

// runeOffsetToByte converts a rune index (expr reports locations in runes)
// into a byte offset in src.
func runeOffsetToByte(src string, runes int) int {
	n := 0
	for i := range src {
		if n == runes {
			return i
		}
		n++
	}
	return len(src)
}
