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
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
