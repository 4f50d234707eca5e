package lang

import (
	"fmt"
	"sort"
)

// TableHint is the hint of an "unknown table" error (the checker's and
// the evaluator's): `did you mean "gaming"?` when a known name is close,
// else how to name the table.
func TableHint(name string, known []string) string {
	known = append([]string(nil), known...)
	sort.Strings(known)
	if h := didYouMean(name, known); h != "" {
		return h
	}
	return "name it first with `table ID name " + name + "`"
}

// declaredTables returns the table names f's own `table N name X`
// statements declare (literal ones), with the line of the first.
func declaredTables(f *File) map[string]int {
	m := map[string]int{}
	Inspect(f, func(n Node) bool {
		if _, ok := n.(Expr); ok {
			return false // no statements inside
		}
		s, ok := n.(*NetStmt)
		if !ok || s.Verb != "table" || s.Del {
			return true
		}
		d, _ := Decode(s)
		if d == nil {
			return true
		}
		if v := d.Value("name"); v != nil {
			if name, ok := literalText(v); ok && name != "" {
				if _, seen := m[name]; !seen {
					m[name] = s.Pos().Line
				}
			}
		}
		return true
	})
	return m
}

// didYouMean returns `did you mean "x"?` for the candidate closest to s by
// edit distance, or "" when none is close enough.
func didYouMean(s string, candidates []string) string {
	if best := closest(s, candidates); best != "" {
		return fmt.Sprintf("did you mean `%s`?", best)
	}
	return ""
}

// closest returns the candidate nearest to s (Levenshtein distance at most
// max(1, len(s)/3), and less than len(s)), or "".
func closest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	limit := len(s) / 3
	if limit < 1 {
		limit = 1
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == s || len(c) > 64 {
			continue
		}
		if d := editDistance(s, c); d < bestD && d < len(s) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b
// (Levenshtein plus transposition of adjacent bytes, so "pirnt" is one
// edit from "print").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// DidYouMean returns "did you mean `x`?" for the candidate closest to s
// by edit distance, or "" when none is close enough: the hint of every
// unknown-name diagnostic, for the evaluator's too.
func DidYouMean(s string, candidates []string) string { return didYouMean(s, candidates) }
