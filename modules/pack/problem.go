// Package pack parses, validates and unpacks Attune packs (spec §2).
//
// Loading is purely offline: nothing in a pack is executed and the database is
// not touched. The parsed model (Pack and its components) is what the
// registrar writes to the database; refs it could not verify inside the pack
// are listed in Pack.ExternalRefs so the registrar can check them against the
// DB.
package pack

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one defect found in a pack. File is relative to the pack root
// (slash-separated); Line/Col are 1-based and zero when unknown; Field is the
// dotted path of the offending field inside the file.
type Problem struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Col   int    `json:"col,omitempty"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"msg"`
}

// String renders the problem as `file:line:col: field: msg`, leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every defect found while loading a pack. A nil or empty value
// means the pack is valid.
type Problems []Problem

// Err returns nil when there are no problems, otherwise an error listing all
// of them (so callers can use the usual `if err != nil`).
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ProblemsError{Problems: ps}
}

// Format renders one problem per line, sorted by file and position, which is
// what `attune pack check` prints.
func (ps Problems) Format() string {
	sorted := append(Problems(nil), ps...)
	sorted.Sort()
	var b strings.Builder
	for _, p := range sorted {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Sort orders problems by file, line, column, then message so output is stable.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
}

// ProblemsError wraps Problems as an error.
type ProblemsError struct {
	Problems Problems
}

// Error lists the problems, one per line.
func (e *ProblemsError) Error() string {
	return fmt.Sprintf("pack has %d problem(s):\n%s", len(e.Problems), strings.TrimRight(e.Problems.Format(), "\n"))
}

// reporter collects problems for one file.
type reporter struct {
	file  string
	probs *Problems
}

func (r reporter) at(line, col int, field, format string, args ...any) {
	*r.probs = append(*r.probs, Problem{File: r.file, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}
