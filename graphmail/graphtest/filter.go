package graphtest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// An OData $filter parser and evaluator for the entity types the fake
// serves (learn.microsoft.com/graph/filter-query-parameter): comparisons
// (eq ne gt ge lt le) of a property path with a literal, and, or, not,
// parentheses, startswith/endswith/contains, and any/all lambdas over
// collections (categories, recipients, extended properties).
//
// Errors have Graph's shapes: a syntax error is 400 BadRequest "Invalid
// filter clause: Syntax error at position N in '...'" and a type mismatch
// "Invalid filter clause: A binary operator with incompatible types was
// detected..." (the OData library's messages, reported for Graph, e.g.
// microsoft-graph-explorer-v4#3227); an unknown property is 400
// RequestBroker--ParseUri "Could not find a property named 'x' on type
// 'microsoft.graph.message'." (reported, microsoft-graph-explorer-v4#3916);
// a valid expression Exchange cannot run (property against property) is
// 400 ErrorInvalidUrlQueryFilter "The query filter contains one or more
// invalid nodes." (reported).

// edmType is the type of a property or literal.
type edmType int

const (
	edmString edmType = iota + 1
	edmBool
	edmInt
	edmDateTime
	edmNull
	edmComplex
)

func (t edmType) String() string {
	switch t {
	case edmString:
		return "Edm.String"
	case edmBool:
		return "Edm.Boolean"
	case edmInt:
		return "Edm.Int32"
	case edmDateTime:
		return "Edm.DateTimeOffset"
	case edmNull:
		return "<null>"
	}
	return "Complex"
}

// propDef is a property of an entity or complex type. get reads it from a
// value of that type; a collection yields []any of its element type.
type propDef struct {
	name string
	typ  edmType
	coll bool
	sub  *schema // the (element) type of a complex property
	get  func(v any) any
	// norm, when set, makes comparisons exact on norm of both sides
	// (extended property ids: type and tag case-insensitive, Name not).
	norm func(string) string
}

// schema is an entity or complex type.
type schema struct {
	name  string // e.g. microsoft.graph.message
	props map[string]*propDef
}

func newSchema(name string, props ...*propDef) *schema {
	s := &schema{name: name, props: map[string]*propDef{}}
	for _, p := range props {
		s.props[strings.ToLower(p.name)] = p
	}
	return s
}

func (s *schema) prop(name string) *propDef { return s.props[strings.ToLower(name)] }

// queryError is a refusal with Graph's status, code and message.
type queryError struct {
	status  int
	code    string
	message string
}

func (e *queryError) Error() string { return e.code + ": " + e.message }

func badRequest(code, format string, args ...any) *queryError {
	return &queryError{status: 400, code: code, message: fmt.Sprintf(format, args...)}
}

// ------------------------------------------------------------------ lexer

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tLParen
	tRParen
	tComma
	tSlash
	tColon
)

type token struct {
	kind tokKind
	text string // identifier, the unquoted string, the number or date
	pos  int
}

func lex(src string) ([]token, int) {
	var out []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case c == ',':
			out = append(out, token{tComma, ",", i})
			i++
		case c == '/':
			out = append(out, token{tSlash, "/", i})
			i++
		case c == ':':
			out = append(out, token{tColon, ":", i})
			i++
		case c == '\'':
			v, rest, ok := odataString(src[i:])
			if !ok {
				return nil, i
			}
			out = append(out, token{tString, v, i})
			i = len(src) - len(rest)
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(src) && (isDigit(src[j]) || strings.IndexByte("-:.TZ+", src[j]) >= 0) {
				j++
			}
			text := src[i:j]
			kind := tNumber
			if len(text) >= 10 && isDigit(text[0]) && text[4] == '-' {
				kind = tDate
			}
			out = append(out, token{kind, text, i})
			i = j
		case c == '_' || c < 0x80 && unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(src) && (src[j] == '_' || src[j] == '.' || src[j] < 0x80 && (unicode.IsLetter(rune(src[j])) || isDigit(src[j]))) {
				j++
			}
			out = append(out, token{tIdent, src[i:j], i})
			i = j
		default:
			return nil, i
		}
	}
	return append(out, token{tEOF, "", len(src)}), -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ------------------------------------------------------------------ AST

type filterNode interface{ eval(env *filterEnv) bool }

type filterEnv struct {
	root any
	vars map[string]any
}

type logicNode struct {
	and  bool
	l, r filterNode
}

func (n *logicNode) eval(e *filterEnv) bool {
	if n.and {
		return n.l.eval(e) && n.r.eval(e)
	}
	return n.l.eval(e) || n.r.eval(e)
}

type notNode struct{ x filterNode }

func (n *notNode) eval(e *filterEnv) bool { return !n.x.eval(e) }

// pathExpr reads a property path from the root or a lambda variable.
type pathExpr struct {
	v     string // lambda variable, "" for the root; "$it" forms are the root
	steps []*propDef
	typ   edmType
	coll  bool
	sub   *schema
	text  string
}

func (p *pathExpr) value(e *filterEnv) any {
	var v any
	if p.v == "" {
		v = e.root
	} else {
		v = e.vars[p.v]
	}
	for _, st := range p.steps {
		if v == nil {
			return nil
		}
		v = st.get(v)
	}
	return v
}

type literal struct {
	typ edmType
	val any // string, bool, int64, time.Time, nil
}

type cmpNode struct {
	op   string
	path *pathExpr
	lit  literal
	flip bool // the literal was on the left
}

func (n *cmpNode) eval(e *filterEnv) bool {
	v := n.path.value(e)
	lit := n.lit
	if k := len(n.path.steps); k > 0 && n.path.steps[k-1].norm != nil {
		norm := n.path.steps[k-1].norm
		vs, _ := v.(string)
		ls, _ := lit.val.(string)
		if norm(vs) == norm(ls) {
			return n.op == "eq" || n.op == "ge" || n.op == "le"
		}
		v, lit = norm(vs), literal{edmString, norm(ls)}
	}
	c, ok := compare(v, lit)
	if !ok {
		return n.op == "ne"
	}
	if n.flip {
		c = -c
	}
	switch n.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// compare orders a property value against a literal; strings compare
// without regard to case, as Exchange's restrictions do.
func compare(v any, lit literal) (int, bool) {
	if lit.typ == edmNull {
		if v == nil || v == "" {
			return 0, true
		}
		return 1, true
	}
	switch x := v.(type) {
	case string:
		l, _ := lit.val.(string)
		return strings.Compare(strings.ToLower(x), strings.ToLower(l)), true
	case bool:
		l, _ := lit.val.(bool)
		switch {
		case x == l:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case int64:
		l, _ := lit.val.(int64)
		switch {
		case x < l:
			return -1, true
		case x > l:
			return 1, true
		}
		return 0, true
	case time.Time:
		l, _ := lit.val.(time.Time)
		return x.Compare(l), true
	}
	return 0, false
}

type funcNode struct {
	name string
	path *pathExpr
	arg  string
}

func (n *funcNode) eval(e *filterEnv) bool {
	s, _ := n.path.value(e).(string)
	s, a := strings.ToLower(s), strings.ToLower(n.arg)
	switch n.name {
	case "startswith":
		return strings.HasPrefix(s, a)
	case "endswith":
		return strings.HasSuffix(s, a)
	}
	return strings.Contains(s, a)
}

type lambdaNode struct {
	all  bool
	coll *pathExpr
	v    string
	body filterNode // nil: any() with no predicate
}

func (n *lambdaNode) eval(e *filterEnv) bool {
	items, _ := n.coll.value(e).([]any)
	if n.body == nil {
		return len(items) > 0
	}
	saved, had := e.vars[n.v]
	defer func() {
		if had {
			e.vars[n.v] = saved
		} else {
			delete(e.vars, n.v)
		}
	}()
	for _, it := range items {
		e.vars[n.v] = it
		if n.body.eval(e) != n.all {
			return !n.all
		}
	}
	return n.all
}

// ------------------------------------------------------------------ parser

// compiledFilter is a parsed $filter.
type compiledFilter struct {
	root  filterNode
	props []string // root property names in order of first appearance
}

func (f *compiledFilter) match(v any) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.eval(&filterEnv{root: v, vars: map[string]any{}})
}

type filterParser struct {
	src   string
	toks  []token
	i     int
	root  *schema
	vars  map[string]*pathExpr // lambda variables in scope: their element type
	props []string
}

// parseFilter compiles src against the root entity type.
func parseFilter(src string, root *schema) (*compiledFilter, *queryError) {
	if strings.TrimSpace(src) == "" {
		return &compiledFilter{}, nil
	}
	toks, bad := lex(src)
	p := &filterParser{src: src, toks: toks, root: root, vars: map[string]*pathExpr{}}
	if bad >= 0 {
		return nil, p.syntax(bad)
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.syntax(p.peek().pos)
	}
	node, ok := asBool(n)
	if !ok {
		return nil, p.syntax(0)
	}
	return &compiledFilter{root: node, props: p.props}, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *filterParser) syntax(pos int) *queryError {
	return badRequest("BadRequest", "Invalid filter clause: Syntax error at position %d in '%s'.", pos, p.src)
}

func (p *filterParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}

// An operand is a filterNode (boolean) or a value (*pathExpr, literal).
type operand any

// asBool takes a boolean expression; a bare Boolean property (isRead) is
// one, as in OData's boolCommonExpr.
func asBool(o operand) (filterNode, bool) {
	switch x := o.(type) {
	case filterNode:
		return x, true
	case *pathExpr:
		if x.typ == edmBool && !x.coll {
			return &cmpNode{op: "eq", path: x, lit: literal{edmBool, true}}, true
		}
	}
	return nil, false
}

func (p *filterParser) expr() (operand, *queryError) {
	return p.chain("or", p.andExpr)
}

func (p *filterParser) andExpr() (operand, *queryError) {
	return p.chain("and", p.unary)
}

// chain parses operands joined by a logical word (and, or), left to
// right; each side must be a boolean expression.
func (p *filterParser) chain(word string, side func() (operand, *queryError)) (operand, *queryError) {
	l, err := side()
	if err != nil {
		return nil, err
	}
	for p.isWord(word) {
		pos := p.next().pos
		r, err := side()
		if err != nil {
			return nil, err
		}
		ln, ok1 := asBool(l)
		rn, ok2 := asBool(r)
		if !ok1 || !ok2 {
			return nil, p.syntax(pos)
		}
		l = &logicNode{and: word == "and", l: ln, r: rn}
	}
	return l, nil
}

func (p *filterParser) unary() (operand, *queryError) {
	if p.isWord("not") {
		pos := p.next().pos
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		xn, ok := asBool(x)
		if !ok {
			return nil, p.syntax(pos)
		}
		return &notNode{xn}, nil
	}
	return p.comparison()
}

var cmpOps = map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual", "lt": "LessThan", "le": "LessThanOrEqual"}

func (p *filterParser) comparison() (operand, *queryError) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tIdent {
		return l, nil
	}
	op := strings.ToLower(t.text)
	kind, ok := cmpOps[op]
	if !ok {
		return l, nil
	}
	p.next()
	r, err := p.primary()
	if err != nil {
		return nil, err
	}
	lp, lIsPath := l.(*pathExpr)
	rp, rIsPath := r.(*pathExpr)
	ll, lIsLit := l.(literal)
	rl, rIsLit := r.(literal)
	switch {
	case lIsPath && rIsLit:
		return p.cmp(op, kind, lp, rl, false)
	case lIsLit && rIsPath:
		return p.cmp(op, kind, rp, ll, true)
	case (lIsPath || lIsLit) && (rIsPath || rIsLit):
		return nil, badRequest("ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
	}
	return nil, p.syntax(t.pos)
}

func (p *filterParser) cmp(op, kind string, path *pathExpr, lit literal, flip bool) (operand, *queryError) {
	if path.coll || path.typ == edmComplex {
		return nil, badRequest("BadRequest", "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", "Collection", lit.typ, kind)
	}
	switch {
	case lit.typ == edmNull && (op == "eq" || op == "ne"):
	case lit.typ == path.typ:
	case path.typ == edmDateTime && lit.typ == edmDateTime:
	default:
		l, r := path.typ, lit.typ
		if flip {
			l, r = r, l
		}
		return nil, badRequest("BadRequest", "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", l, r, kind)
	}
	return &cmpNode{op: op, path: path, lit: lit, flip: flip}, nil
}

func (p *filterParser) primary() (operand, *queryError) {
	t := p.next()
	switch t.kind {
	case tLParen:
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.syntax(p.peek().pos)
		}
		p.next()
		return x, nil
	case tString:
		return literal{edmString, t.text}, nil
	case tNumber:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.syntax(t.pos)
		}
		return literal{edmInt, n}, nil
	case tDate:
		d, ok := parseODataDate(t.text)
		if !ok {
			return nil, p.syntax(t.pos)
		}
		return literal{edmDateTime, d}, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return literal{edmBool, strings.EqualFold(t.text, "true")}, nil
		case "null":
			return literal{edmNull, nil}, nil
		case "startswith", "endswith", "contains":
			if p.peek().kind == tLParen {
				return p.function(strings.ToLower(t.text))
			}
		}
		return p.path(t)
	}
	return nil, p.syntax(t.pos)
}

// parseODataDate reads a DateTimeOffset literal (2024-05-01T10:00:00Z) or
// a Date (2024-05-01, midnight UTC).
func parseODataDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func (p *filterParser) function(name string) (operand, *queryError) {
	p.next() // (
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	path, ok := x.(*pathExpr)
	if !ok {
		return nil, badRequest("ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
	}
	if t := p.next(); t.kind != tComma {
		return nil, p.syntax(t.pos)
	}
	y, err := p.primary()
	if err != nil {
		return nil, err
	}
	lit, ok := y.(literal)
	if !ok || lit.typ != edmString || path.typ != edmString || path.coll {
		return nil, badRequest("BadRequest", "Invalid filter clause: No function signature for the function with name '%s' matches the specified arguments.", name)
	}
	if t := p.next(); t.kind != tRParen {
		return nil, p.syntax(t.pos)
	}
	return &funcNode{name: name, path: path, arg: lit.val.(string)}, nil
}

// path reads a/b/c, a lambda variable's path, or coll/any(v: ...).
func (p *filterParser) path(first token) (operand, *queryError) {
	pe := &pathExpr{text: first.text}
	var cur *schema
	name := first.text
	if vp, ok := p.vars[first.text]; ok {
		pe.v, pe.typ, pe.coll, pe.sub = first.text, vp.typ, false, vp.sub
		cur = vp.sub
		if p.peek().kind != tSlash {
			return pe, nil
		}
		p.next()
		name = p.expectIdent()
		if name == "" {
			return nil, p.syntax(p.peek().pos)
		}
	} else {
		cur = p.root
		if strings.EqualFold(name, "$it") {
			return nil, p.syntax(first.pos)
		}
	}
	for {
		if cur == nil {
			return nil, p.syntax(first.pos)
		}
		pd := cur.prop(name)
		if pd == nil {
			return nil, badRequest("RequestBroker--ParseUri", "Could not find a property named '%s' on type '%s'.", name, cur.name)
		}
		if pe.v == "" && len(pe.steps) == 0 {
			p.noteProp(pd.name)
		}
		pe.steps = append(pe.steps, pd)
		pe.typ, pe.coll, pe.sub = pd.typ, pd.coll, pd.sub
		if p.peek().kind != tSlash {
			return pe, nil
		}
		p.next()
		t := p.peek()
		if pe.coll && t.kind == tIdent && (strings.EqualFold(t.text, "any") || strings.EqualFold(t.text, "all")) {
			p.next()
			return p.lambda(pe, strings.EqualFold(t.text, "all"))
		}
		if pe.coll {
			return nil, p.syntax(t.pos)
		}
		cur = pd.sub
		name = p.expectIdent()
		if name == "" {
			return nil, p.syntax(p.peek().pos)
		}
	}
}

func (p *filterParser) expectIdent() string {
	if t := p.peek(); t.kind == tIdent {
		p.next()
		return t.text
	}
	return ""
}

func (p *filterParser) noteProp(name string) {
	for _, n := range p.props {
		if strings.EqualFold(n, name) {
			return
		}
	}
	p.props = append(p.props, name)
}

func (p *filterParser) lambda(coll *pathExpr, all bool) (operand, *queryError) {
	if t := p.next(); t.kind != tLParen {
		return nil, p.syntax(t.pos)
	}
	if p.peek().kind == tRParen && !all {
		p.next()
		return &lambdaNode{coll: coll}, nil
	}
	v := p.expectIdent()
	if v == "" {
		return nil, p.syntax(p.peek().pos)
	}
	if t := p.next(); t.kind != tColon {
		return nil, p.syntax(t.pos)
	}
	if _, clash := p.vars[v]; clash || p.root.prop(v) != nil {
		return nil, badRequest("BadRequest", "Invalid filter clause: The range variable '%s' has already been declared.", v)
	}
	elemType := coll.typ
	p.vars[v] = &pathExpr{typ: elemType, sub: coll.sub}
	body, err := p.expr()
	delete(p.vars, v)
	if err != nil {
		return nil, err
	}
	bn, ok := asBool(body)
	if !ok {
		return nil, p.syntax(p.peek().pos)
	}
	if t := p.next(); t.kind != tRParen {
		return nil, p.syntax(t.pos)
	}
	return &lambdaNode{all: all, coll: coll, v: v, body: bn}, nil
}
