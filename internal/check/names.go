package check

import (
	"regexp"
	"strings"

	"github.com/pelato-dev/pelato/internal/workflow"
)

var (
	componentRE = regexp.MustCompile(workflow.ComponentPattern)
	versionRE   = regexp.MustCompile(workflow.VersionPattern)
	bucketRE    = regexp.MustCompile(workflow.BucketPattern)
	labelRE     = regexp.MustCompile(workflow.LabelPattern)
)

// subjectProblem returns why s is not a valid NATS subject, or "". Wildcards are
// allowed when wildcards is true.
func subjectProblem(s string, wildcards bool) string {
	if s == "" {
		return "it is empty"
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "it contains white space"
	}
	if strings.ContainsAny(s, ",|") {
		return "it contains `,` or `|`, which separate subscriptions and queue groups in the messaging provider's configuration"
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return "it has an empty token (a leading, trailing or doubled `.`)"
		case t == "*" || t == ">":
			if !wildcards {
				return "it contains the wildcard `" + t + "`; a task publishes to one concrete subject"
			}
			if t == ">" && i != len(tokens)-1 {
				return "`>` may only be the last token"
			}
		case strings.ContainsAny(t, "*>"):
			return "`*` and `>` must be whole tokens, like `sensors.*`"
		}
	}
	return ""
}

// subjectMatches reports whether the concrete subject s matches pattern p (NATS rules).
// It walks both token by token without allocating: the topic graph calls it n² times.
func subjectMatches(p, s string) bool {
	for {
		pt, prest, pmore := strings.Cut(p, ".")
		st, srest, smore := strings.Cut(s, ".")
		switch {
		case pt == ">":
			return st != ""
		case pt != "*" && pt != st:
			return false
		case !pmore || !smore:
			return pmore == smore
		}
		p, s = prest, srest
	}
}

// closest returns the candidate nearest to s by edit distance, if it is near enough to
// be what the user meant.
func closest(s string, candidates []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(s)/3)
	return best, bestD <= limit && best != ""
}

// distance is the Damerau–Levenshtein (optimal string alignment) distance of a and b.
// It keeps three rows on the stack: the did-you-mean of a large project calls it
// many thousand times.
func distance(a, b string) int {
	var bufA, bufB [64]rune
	ra, rb := bufA[:0], bufB[:0]
	for _, r := range a {
		if len(ra) == cap(ra) {
			return 1 << 20
		}
		ra = append(ra, r)
	}
	for _, r := range b {
		if len(rb) == cap(rb) {
			return 1 << 20
		}
		rb = append(rb, r)
	}
	var rows [3][65]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(rb); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
