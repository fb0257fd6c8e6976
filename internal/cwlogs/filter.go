package cwlogs

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// matcher reports whether a message matches a filter pattern.
type matcher func(msg string) bool

// errPattern is the answer to a pattern outside the supported subset
// (docs/behaviour/logs.md §5).
func errPattern(why string) error {
	return invalidParameter("Invalid filter pattern: " + why)
}

// compile parses a filter pattern: "" (everything); terms, quoted phrases,
// ?alternatives and -exclusions; or a JSON selector { $.a.b op value }
// joined by && and ||. Space-delimited [..] patterns and %regex% are
// refused, never ignored.
func compile(p string) (matcher, error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return func(string) bool { return true }, nil
	case strings.HasPrefix(p, "{"):
		return compileJSON(p)
	case strings.HasPrefix(p, "["):
		return nil, errPattern("space-delimited patterns ([…]) are not supported by lambada")
	case strings.Contains(p, "%"):
		return nil, errPattern("regular expressions (%…%) are not supported by lambada")
	}
	return compileTerms(p)
}

func compileTerms(p string) (matcher, error) {
	var all, any, none []string
	for len(p) > 0 {
		p = strings.TrimLeft(p, " \t")
		if p == "" {
			break
		}
		kind := byte(0)
		if p[0] == '?' || p[0] == '-' {
			kind, p = p[0], p[1:]
		}
		var term string
		if strings.HasPrefix(p, `"`) {
			end := strings.IndexByte(p[1:], '"')
			if end < 0 {
				return nil, errPattern("unterminated quoted phrase")
			}
			term, p = p[1:1+end], p[2+end:]
		} else {
			end := strings.IndexAny(p, " \t")
			if end < 0 {
				end = len(p)
			}
			term, p = p[:end], p[end:]
			if strings.ContainsAny(term, `"{}[]()`) {
				return nil, errPattern("quote terms that contain non-alphanumeric characters: " + term)
			}
		}
		if term == "" {
			return nil, errPattern("empty term")
		}
		switch kind {
		case '?':
			any = append(any, term)
		case '-':
			none = append(none, term)
		default:
			all = append(all, term)
		}
	}
	return func(msg string) bool {
		for _, t := range all {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range none {
			if strings.Contains(msg, t) {
				return false
			}
		}
		if len(any) == 0 {
			return true
		}
		for _, t := range any {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return false
	}, nil
}

// A JSON selector is parsed into a tree of conditions on the decoded
// message.
type cond func(doc any) bool

type jsonParser struct {
	s   string
	pos int
}

func compileJSON(p string) (matcher, error) {
	jp := &jsonParser{s: p}
	jp.skip()
	if !jp.eat("{") {
		return nil, errPattern("expected {")
	}
	c, err := jp.or()
	if err != nil {
		return nil, err
	}
	if !jp.eat("}") {
		return nil, errPattern("expected } at offset " + strconv.Itoa(jp.pos))
	}
	if jp.skip(); jp.pos != len(jp.s) {
		return nil, errPattern("unexpected text after }")
	}
	return func(msg string) bool {
		var doc any
		if json.Unmarshal([]byte(strings.TrimSpace(msg)), &doc) != nil {
			return false
		}
		return c(doc)
	}, nil
}

func (j *jsonParser) skip() {
	for j.pos < len(j.s) && (j.s[j.pos] == ' ' || j.s[j.pos] == '\t') {
		j.pos++
	}
}

func (j *jsonParser) eat(tok string) bool {
	j.skip()
	if strings.HasPrefix(j.s[j.pos:], tok) {
		j.pos += len(tok)
		return true
	}
	return false
}

func (j *jsonParser) or() (cond, error) {
	l, err := j.and()
	if err != nil {
		return nil, err
	}
	for j.eat("||") {
		r, err := j.and()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(d any) bool { return a(d) || b(d) }
	}
	return l, nil
}

func (j *jsonParser) and() (cond, error) {
	l, err := j.atom()
	if err != nil {
		return nil, err
	}
	for j.eat("&&") {
		r, err := j.atom()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(d any) bool { return a(d) && b(d) }
	}
	return l, nil
}

func (j *jsonParser) atom() (cond, error) {
	if j.eat("(") {
		c, err := j.or()
		if err != nil {
			return nil, err
		}
		if !j.eat(")") {
			return nil, errPattern("expected )")
		}
		return c, nil
	}
	if !j.eat("$") {
		return nil, errPattern("expected a selector starting with $ at offset " + strconv.Itoa(j.pos))
	}
	start := j.pos
	for j.pos < len(j.s) && (j.s[j.pos] == '.' || j.s[j.pos] == '_' || j.s[j.pos] == '-' ||
		unicode.IsLetter(rune(j.s[j.pos])) || unicode.IsDigit(rune(j.s[j.pos]))) {
		j.pos++
	}
	path := strings.Split(strings.TrimPrefix(j.s[start:j.pos], "."), ".")
	if len(path) == 0 || path[0] == "" {
		return nil, errPattern("empty selector")
	}
	get := func(d any) (any, bool) {
		for _, k := range path {
			m, ok := d.(map[string]any)
			if !ok {
				return nil, false
			}
			if d, ok = m[k]; !ok {
				return nil, false
			}
		}
		return d, true
	}
	switch {
	case j.eat("NOT EXISTS"):
		return func(d any) bool { _, ok := get(d); return !ok }, nil
	case j.eat("EXISTS"):
		return func(d any) bool { _, ok := get(d); return ok }, nil
	case j.eat("IS"):
		var want any
		switch {
		case j.eat("TRUE"):
			want = true
		case j.eat("FALSE"):
			want = false
		case j.eat("NULL"):
			want = nil
		default:
			return nil, errPattern("IS takes TRUE, FALSE or NULL")
		}
		return func(d any) bool { v, ok := get(d); return ok && v == want }, nil
	}
	var op string
	for _, o := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if j.eat(o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, errPattern("expected an operator at offset " + strconv.Itoa(j.pos))
	}
	j.skip()
	if strings.HasPrefix(j.s[j.pos:], `"`) {
		end := strings.IndexByte(j.s[j.pos+1:], '"')
		if end < 0 {
			return nil, errPattern("unterminated string")
		}
		lit := j.s[j.pos+1 : j.pos+1+end]
		j.pos += end + 2
		return strCond(get, op, lit)
	}
	start = j.pos
	for j.pos < len(j.s) && !strings.ContainsRune(" \t&|)}", rune(j.s[j.pos])) {
		j.pos++
	}
	lit := j.s[start:j.pos]
	if lit == "" {
		return nil, errPattern("expected a value at offset " + strconv.Itoa(start))
	}
	if n, err := strconv.ParseFloat(lit, 64); err == nil {
		return func(d any) bool {
			v, ok := get(d)
			f, isNum := v.(float64)
			if !ok || !isNum {
				return false
			}
			switch op {
			case "=":
				return f == n
			case "!=":
				return f != n
			case "<":
				return f < n
			case "<=":
				return f <= n
			case ">":
				return f > n
			}
			return f >= n
		}, nil
	}
	return strCond(get, op, lit)
}

// strCond compares a string member; * in lit is a wildcard.
func strCond(get func(any) (any, bool), op, lit string) (cond, error) {
	if op != "=" && op != "!=" {
		return nil, errPattern("strings compare with = or != only")
	}
	parts := strings.Split(lit, "*")
	match := func(s string) bool {
		if len(parts) == 1 {
			return s == lit
		}
		if !strings.HasPrefix(s, parts[0]) {
			return false
		}
		s = s[len(parts[0]):]
		for _, p := range parts[1 : len(parts)-1] {
			i := strings.Index(s, p)
			if i < 0 {
				return false
			}
			s = s[i+len(p):]
		}
		return strings.HasSuffix(s, parts[len(parts)-1])
	}
	return func(d any) bool {
		v, ok := get(d)
		if !ok {
			return false
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		default:
			return false
		}
		return match(s) == (op == "=")
	}, nil
}
