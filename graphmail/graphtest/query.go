package graphtest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OData query options as Graph takes them for the mail resources
// (learn.microsoft.com/graph/query-parameters): each resource accepts some
// system query options and refuses the others; a $-prefixed option Graph
// does not know is refused; the same option twice is refused. The $ may be
// left out of a system option's name (query-parameters: "On the v1 endpoint,
// the $ prefix is optional for only a subset of APIs"; reported for Outlook's
// delta, microsoft-graph-docs-contrib#1771); other options without a $ are
// custom query options (includeHiddenFolders, changeType), which a resource
// reads or, as OData lets it, ignores.

// queryOpt is a set of system query options.
type queryOpt int

const (
	optSelect queryOpt = 1 << iota
	optExpand
	optFilter
	optOrderby
	optSearch
	optCount
	optTop
	optSkip
	optFormat
	optSkiptoken
	optDeltatoken
)

var optNames = []struct {
	opt        queryOpt
	name, word string // the option, and the word Exchange's errors use for it
}{
	{optSelect, "$select", "Select"}, {optExpand, "$expand", "Expand"}, {optFilter, "$filter", "Filter"},
	{optOrderby, "$orderby", "OrderBy"}, {optSearch, "$search", "Search"}, {optCount, "$count", "Count"},
	{optTop, "$top", "Top"}, {optSkip, "$skip", "Skip"}, {optFormat, "$format", "Format"},
	{optSkiptoken, "$skiptoken", "SkipToken"}, {optDeltatoken, "$deltatoken", "DeltaToken"},
}

// Option sets of the resources.
const (
	listOpts   = optSelect | optExpand | optFilter | optOrderby | optCount | optTop | optSkip | optFormat
	entityOpts = optSelect | optExpand | optFormat
)

type expandItem struct {
	name   string
	filter string // "" when the item has none
	sel    []string
}

type orderItem struct {
	path string
	desc bool
}

// queryOptions are a request's parsed options.
type queryOptions struct {
	given      queryOpt
	sel        []string
	expand     []expandItem
	filter     string
	orderby    []orderItem
	search     string
	count      bool
	top        int
	skip       int
	skiptoken  string
	deltatoken string
	custom     url.Values // options without $ that are not system options
}

func (o *queryOptions) has(opt queryOpt) bool { return o.given&opt != 0 }

// parseQueryOptions reads r's query, refusing what Graph refuses: an
// unknown $ option, one given twice, one the resource does not take
// (allowed), or a malformed value.
func parseQueryOptions(r *http.Request, allowed queryOpt) (*queryOptions, *queryError) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("BadRequest", "The query string is not valid: %v.", err)
	}
	o := &queryOptions{custom: url.Values{}}
	raw := map[queryOpt]string{}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		var opt queryOpt
		var name, word string
		for _, n := range optNames {
			if lk == n.name || lk == strings.TrimPrefix(n.name, "$") {
				opt, name, word = n.opt, n.name, n.word
			}
		}
		if opt == 0 {
			if strings.HasPrefix(k, "$") {
				// The OData library's message (Microsoft.OData.Core).
				return nil, badRequest("BadRequest", "The query parameter '%s' is not supported.", k)
			}
			o.custom[k] = vals[k]
			continue
		}
		if _, dup := raw[opt]; dup || len(vals[k]) > 1 {
			return nil, badRequest("BadRequest", "Query option '%s' was specified more than once, but it must be specified at most once.", name)
		}
		if allowed&opt == 0 {
			return nil, badRequest("ErrorInvalidUrlQuery", "The query parameter '%s' is invalid.", word)
		}
		raw[opt] = vals[k][0]
		o.given |= opt
	}
	for opt, v := range raw {
		var qe *queryError
		switch opt {
		case optSelect:
			o.sel, qe = splitSelect(v)
		case optExpand:
			o.expand, qe = parseExpand(v)
		case optFilter:
			o.filter = v
		case optOrderby:
			o.orderby, qe = parseOrderby(v)
		case optSearch:
			o.search = v
		case optCount:
			switch strings.ToLower(v) {
			case "true":
				o.count = true
			case "false":
			default:
				qe = badRequest("BadRequest", "'%s' is not a valid count option.", v)
			}
		case optTop:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				qe = badRequest("ErrorInvalidUrlQuery", "The value of $top must be between 1 and 1000.")
			}
			o.top = n
		case optSkip:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				qe = badRequest("BadRequest", "Invalid value '%s' for $skip query option found. The $skip query option requires a non-negative integer value.", v)
			}
			o.skip = n
		case optFormat:
			if f := strings.ToLower(v); f != "json" && !strings.HasPrefix(f, "application/json") {
				qe = badRequest("BadRequest", "The requested format '%s' is not supported.", v)
			}
		case optSkiptoken:
			o.skiptoken = v
		case optDeltatoken:
			o.deltatoken = v
		}
		if qe != nil {
			return nil, qe
		}
	}
	return o, nil
}

// splitTop splits s at commas outside parentheses and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func splitSelect(v string) ([]string, *queryError) {
	var out []string
	pos := 0
	for _, f := range strings.Split(v, ",") {
		if strings.TrimSpace(f) == "" {
			return nil, badRequest("BadRequest", "Syntax error: character ',' is not valid at position %d in '%s'.", min(pos+len(f), len(v)-1), v)
		}
		out = append(out, strings.TrimSpace(f))
		pos += len(f) + 1
	}
	return out, nil
}

func parseExpand(v string) ([]expandItem, *queryError) {
	var out []expandItem
	for _, part := range splitTop(v, ',') {
		part = strings.TrimSpace(part)
		it := expandItem{name: part}
		if i := strings.IndexByte(part, '('); i >= 0 {
			if !strings.HasSuffix(part, ")") {
				return nil, badRequest("BadRequest", "Syntax error at position %d in '%s'.", len(v), v)
			}
			it.name = strings.TrimSpace(part[:i])
			for _, o := range splitTop(part[i+1:len(part)-1], ';') {
				k, val, ok := strings.Cut(strings.TrimSpace(o), "=")
				switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(k), "$")) {
				case "filter":
					it.filter = val
				case "select":
					sel, qe := splitSelect(val)
					if qe != nil {
						return nil, qe
					}
					it.sel = sel
				default:
					if !ok || k == "" {
						return nil, badRequest("BadRequest", "Syntax error at position %d in '%s'.", i, v)
					}
					return nil, badRequest("BadRequest", "The query parameter '%s' is not supported.", strings.TrimSpace(k))
				}
			}
		}
		if it.name == "" {
			return nil, badRequest("BadRequest", "Syntax error at position 0 in '%s'.", v)
		}
		out = append(out, it)
	}
	return out, nil
}

func parseOrderby(v string) ([]orderItem, *queryError) {
	var out []orderItem
	for _, part := range strings.Split(v, ",") {
		f := strings.Fields(part)
		switch {
		case len(f) == 1:
			out = append(out, orderItem{path: f[0]})
		case len(f) == 2 && (strings.EqualFold(f[1], "asc") || strings.EqualFold(f[1], "desc")):
			out = append(out, orderItem{path: f[0], desc: strings.EqualFold(f[1], "desc")})
		default:
			return nil, badRequest("BadRequest", "Syntax error at position %d in '%s'.", strings.Index(v, part)+len(part), v)
		}
	}
	return out, nil
}

// ------------------------------------------------------------- entity types

// entityDef is what $select and $expand may name on a resource.
type entityDef struct {
	name   string   // microsoft.graph.message
	props  []string // structural properties
	navs   []string // navigation properties
	casts  map[string][]string
	filter *schema
	// parseURIErrors: Outlook's RequestBroker--ParseUri (messages,
	// attachments, reported microsoft-graph-explorer-v4#3916) rather than
	// Graph's "Parsing OData Select and Expand failed" (reported for
	// mailFolder, mguessan/davmail#488).
	parseURIErrors bool
}

func (d *entityDef) unknown(name string) *queryError {
	if d.parseURIErrors {
		return badRequest("RequestBroker--ParseUri", "Could not find a property named '%s' on type '%s'.", name, d.name)
	}
	return badRequest("BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", name, d.name)
}

func hasFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// checkSelect refuses a $select naming what the type does not have.
func (d *entityDef) checkSelect(sel []string) *queryError {
	for _, f := range sel {
		if f == "*" {
			continue
		}
		if cast, prop, ok := strings.Cut(f, "/"); ok {
			if derived, known := d.casts[strings.ToLower(cast)]; known && hasFold(derived, prop) {
				continue
			}
			return d.unknown(f)
		}
		if !hasFold(d.props, f) && !hasFold(d.navs, f) {
			return d.unknown(f)
		}
	}
	return nil
}

// checkView refuses a $select or $expand the type cannot answer: the
// first check of every view builder.
func (d *entityDef) checkView(o *queryOptions) *queryError {
	if qe := d.checkSelect(o.sel); qe != nil {
		return qe
	}
	return d.checkExpand(o.expand)
}

// checkExpand refuses an $expand of what is not a navigation property of
// the type, or one the fake does not serve.
// extPropView checks the view of a request on an entity (what names it
// in errors, "events") that expands only its extended properties, and
// gives the filter of the single-value ones it asks for (nil: none).
func extPropView(d *entityDef, o *queryOptions, what string) (*compiledFilter, *queryError) {
	if qe := d.checkView(o); qe != nil {
		return nil, qe
	}
	var sv *compiledFilter
	for _, it := range o.expand {
		var qe *queryError
		switch strings.ToLower(it.name) {
		case "singlevalueextendedproperties":
			sv, qe = parseFilter(it.filter, singleValuePropSchema)
		case "multivalueextendedproperties":
			_, qe = parseFilter(it.filter, multiValuePropSchema)
		default:
			qe = badRequest("ErrorInvalidUrlQuery", "The fake does not expand '%s' on %s.", it.name, what)
		}
		if qe != nil {
			return nil, qe
		}
	}
	return sv, nil
}

// addExtProps puts into j the single-value extended properties of ext
// that an $expand filter sv (nil: none asked) matches, as Graph expands
// them; none matching adds nothing.
func addExtProps(j map[string]any, sv *compiledFilter, ext map[string]string) {
	if sv == nil {
		return
	}
	ps := []any{}
	for id, val := range ext {
		if p := (extProp{ID: id, Value: val}); sv.match(p) {
			ps = append(ps, map[string]any{"id": p.ID, "value": p.Value})
		}
	}
	if len(ps) > 0 {
		j["singleValueExtendedProperties"] = ps
	}
}

func (d *entityDef) checkExpand(items []expandItem) *queryError {
	for _, it := range items {
		switch {
		case hasFold(d.navs, it.name):
		case hasFold(d.props, it.name):
			// The OData library's message.
			return badRequest("BadRequest", "Property '%s' on type '%s' is not a navigation property or complex property. Only navigation properties can be expanded.", it.name, d.name)
		default:
			return d.unknown(it.name)
		}
		if isExtProps(it.name) && it.filter == "" {
			// Extended properties cannot be enumerated, only asked for
			// by id (learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get).
			return badRequest("ErrorInvalidUrlQuery", "Extended properties must be expanded with a $filter on their id.")
		}
	}
	return nil
}

func isExtProps(name string) bool {
	return strings.EqualFold(name, "singleValueExtendedProperties") || strings.EqualFold(name, "multiValueExtendedProperties")
}

// selectJSON keeps the selected properties of j (with id and the @odata
// annotations, which Graph always returns); no $select keeps all.
func selectJSON(sel []string, j map[string]any) map[string]any {
	if len(sel) == 0 || slices.Contains(sel, "*") {
		return j
	}
	out := map[string]any{}
	for k, v := range j {
		if k == "id" || strings.HasPrefix(k, "@") {
			out[k] = v
		}
	}
	for _, f := range sel {
		if _, prop, ok := strings.Cut(f, "/"); ok {
			f = prop
		}
		for k, v := range j {
			if strings.EqualFold(k, f) {
				out[k] = v
			}
		}
	}
	return out
}

// orderJSON sorts rows by $orderby, comparing the values the filter schema
// reads from each row's entity.
func orderJSON[T any](rows []T, order []orderItem, sch *schema, entity func(T) any) *queryError {
	type key struct {
		path *pathExpr
		desc bool
	}
	var keys []key
	for _, o := range order {
		pe, qe := parsePathOnly(o.path, sch)
		if qe != nil {
			return qe
		}
		if pe.coll || pe.typ == edmComplex {
			return badRequest("BadRequest", "The $orderby expression must evaluate to a single value of primitive type.")
		}
		keys = append(keys, key{pe, o.desc})
	}
	slices.SortStableFunc(rows, func(a, b T) int {
		ea, eb := &filterEnv{root: entity(a)}, &filterEnv{root: entity(b)}
		for _, k := range keys {
			va, vb := k.path.value(ea), k.path.value(eb)
			c := compareValues(va, vb)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return nil
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	case bool:
		y, _ := b.(bool)
		c, _ := compare(x, literal{edmBool, y})
		return c
	case int64:
		y, _ := b.(int64)
		c, _ := compare(x, literal{edmInt, y})
		return c
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	return 0
}

// parsePathOnly reads a property path (a/b/c) of sch.
func parsePathOnly(path string, sch *schema) (*pathExpr, *queryError) {
	f, qe := parseFilter(path+" eq null", sch)
	if qe != nil {
		return nil, qe
	}
	if c, ok := f.root.(*cmpNode); ok {
		return c.path, nil
	}
	return nil, badRequest("BadRequest", "Syntax error at position 0 in '%s'.", path)
}

// checkFilterOrder applies Outlook's rule for $filter with $orderby: the
// properties of $orderby must open the $filter, in the same order, or the
// answer is 400 InefficientFilter (learn.microsoft.com/graph/api/
// user-list-messages#using-filter-and-orderby-in-the-same-query). The
// same docs' example (query-parameters#orderby-parameter) orders by one
// more property than it filters on, so $orderby may go on past the
// $filter's properties.
func checkFilterOrder(f *compiledFilter, order []orderItem) *queryError {
	if f == nil || f.root == nil || len(order) == 0 {
		return nil
	}
	for i, o := range order[:min(len(order), len(f.props))] {
		root, _, _ := strings.Cut(o.path, "/")
		if !strings.EqualFold(f.props[i], root) {
			return badRequest("InefficientFilter", "The restriction or sort order is too complex for this operation.")
		}
	}
	return nil
}

func writeQueryError(w http.ResponseWriter, qe *queryError) {
	graphError(w, qe.status, qe.code, qe.message)
}
