package lang

import "strings"

// ArithType is the one table of the arithmetic operators' typing: the
// type of `X op Y` for op one of + - * / when X and Y have the types x
// and y, and false when the operator does not apply to them. Types are
// named as the language names them: "int", "string", "list", "duration"
// (see TypeName). The checker uses it on literal operands; the
// evaluator (eval/value.Binary) on every value, so the two cannot
// disagree:
//
//	int + - * / int            int
//	string + string            string (concatenation)
//	list + list                list
//	duration + - duration      duration (30s + 1m30s)
//	duration * int, int * duration, duration / int   duration (2 * 30s)
func ArithType(op, x, y string) (string, bool) {
	switch {
	case x == "int" && y == "int":
		switch op {
		case "+", "-", "*", "/":
			return "int", true
		}
	case op == "+" && x == "string" && y == "string":
		return "string", true
	case op == "+" && x == "list" && y == "list":
		return "list", true
	case (op == "+" || op == "-") && x == "duration" && y == "duration":
		return "duration", true
	case op == "*" && (x == "duration" && y == "int" || x == "int" && y == "duration"):
		return "duration", true
	case op == "/" && x == "duration" && y == "int":
		return "duration", true
	}
	return "", false
}

// TypeName returns the language's name of the value a literal of shape t
// (Shape) is in an expression: "int", "string", "bool", "address",
// "prefix" or "duration"; "" for types that are no expression shape.
func TypeName(t WordType) string {
	switch t {
	case TInt:
		return "int"
	case TString:
		return "string"
	case TBool:
		return "bool"
	case TAddr:
		return "address"
	case TPrefix:
		return "prefix"
	case TDuration:
		return "duration"
	}
	return ""
}

// withArticle returns noun with "a" or "an" before it, as it is said:
// "an IP prefix", "an int", "an unreachable route", but "a uid range",
// "a MAC address".
func withArticle(noun string) string {
	if noun == "" {
		return noun
	}
	l := strings.ToLower(noun)
	an := strings.ContainsRune("aeiou", rune(l[0]))
	switch {
	case strings.HasPrefix(l, "uid"), strings.HasPrefix(l, "uni"), strings.HasPrefix(l, "use"):
		an = false // "you-"
	case strings.HasPrefix(noun, "IP"):
		an = true // "eye-pee"
	}
	if an {
		return "an " + noun
	}
	return "a " + noun
}
