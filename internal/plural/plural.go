// Package plural writes counts of things in English: "1 error", "2 errors",
// "no components". Every message that counts something uses it, so no output says
// "1 errors" or "component(s)".
package plural

import (
	"strconv"
	"strings"
)

// irregular holds the plurals that adding "s" gets wrong, for the nouns pelato counts.
var irregular = map[string]string{
	"entry":    "entries",
	"property": "properties",
	"process":  "processes",
	"match":    "matches",
}

// Noun returns noun in the plural when n is not 1: Noun(1, "task") is "task",
// Noun(2, "task") is "tasks". noun is one lowercase English word.
func Noun(n int, noun string) string {
	if n == 1 || noun == "" {
		return noun
	}
	if p, ok := irregular[noun]; ok {
		return p
	}
	switch {
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "sh"), strings.HasSuffix(noun, "ch"):
		return noun + "es"
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// Count returns n and the noun, pluralised: Count(1, "error") is "1 error",
// Count(3, "error") is "3 errors".
func Count(n int, noun string) string {
	return strconv.Itoa(n) + " " + Noun(n, noun)
}

// CountOrNo is Count, but says "no errors" for zero.
func CountOrNo(n int, noun string) string {
	if n == 0 {
		return "no " + Noun(0, noun)
	}
	return Count(n, noun)
}
