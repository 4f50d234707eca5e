package lang

import "fmt"

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

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
