package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Endpoint types.
const (
	TypeEWS   = "ews"   // Exchange Server, reached through EWS
	TypeGraph = "graph" // Exchange Online, reached through Microsoft Graph
)

// The names of the two legacy endpoints: what the onprem: and cloud: blocks
// define, what --direction copies between, and what Location auto detects
// between. Copy jobs of a two-sided configuration are keyed by them, so a
// state file written before named endpoints keeps its jobs.
const (
	OnPremName = "onprem"
	CloudName  = "cloud"
)

// Endpoint is one named place mailboxes live: an Exchange Server reached
// through EWS, or an Exchange Online tenant reached through Graph.
type Endpoint struct {
	Name  string
	Type  string  // TypeEWS or TypeGraph
	EWS   *OnPrem // the settings of an ews endpoint
	Graph *Cloud  // the settings of a graph endpoint
	// Key is where the endpoint is written in the file: "onprem", "cloud"
	// or "endpoints.<name>". Messages about its settings start with it.
	Key string
}

// rawEndpoints keeps the endpoints: map as written; Parse reads it with
// its own checks, so that every problem in it is reported with the rest.
type rawEndpoints struct{ node *yaml.Node }

func (r *rawEndpoints) UnmarshalYAML(n *yaml.Node) error {
	r.node = n
	return nil
}

// declared says whether the file has an endpoints: key with something in
// it, valid or not.
func (r rawEndpoints) declared() bool {
	n := resolve(r.node)
	return n != nil && !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") && !(n.Kind == yaml.MappingNode && len(n.Content) == 0)
}

var (
	endpointNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	ewsKeys        = yamlKeys(reflect.TypeFor[OnPrem]())
	graphKeys      = yamlKeys(reflect.TypeFor[Cloud]())
	// Keys engineers write for the ones we use.
	keyHints = map[string]string{
		"url": "ews_url", "ews": "ews_url", "user": "username", "password_environment": "password_env",
		"certificate_file": "certificate_path", "certificate": "certificate_path", "cert": "certificate_path",
		"tenant": "tenant_id", "tenant_domain": "tenant_id", "client": "client_id", "app_id": "client_id", "application_id": "client_id",
		"ca": "ca_bundle", "ca_file": "ca_bundle", "environment": "cloud", "base_url": "graph_base_url",
	}
)

// ValidEndpointName says whether s can name an endpoint: lower-case
// letters, digits and hyphens, starting with a letter or digit, at most 63
// characters; "auto" is the mailbox list's word for detection.
func ValidEndpointName(s string) bool { return endpointNameRE.MatchString(s) && s != "auto" }

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Endpoints lists the configured endpoints: the onprem: and cloud: blocks
// first, then the endpoints: map in the file's order.
func (c *Config) Endpoints() []*Endpoint { return c.endpoints }

// Endpoint returns the endpoint with that name, or nil.
func (c *Config) Endpoint(name string) *Endpoint {
	for _, e := range c.endpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// EndpointNames lists the configured endpoints' names, in order.
func (c *Config) EndpointNames() []string {
	names := make([]string, len(c.endpoints))
	for i, e := range c.endpoints {
		names[i] = e.Name
	}
	return names
}

// buildEndpoints turns the onprem: and cloud: blocks and the endpoints: map
// into the list of endpoints, and reports what is wrong with the map's
// structure (names, types, keys). The settings themselves are checked by
// validate, after the defaults.
func (c *Config) buildEndpoints() Errors {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Problem: fmt.Sprintf(format, args...)})
	}
	c.endpoints = nil
	legacyOnPrem, legacyCloud := c.OnPrem != nil, c.Cloud != nil
	if c.OnPrem != nil {
		c.endpoints = append(c.endpoints, &Endpoint{Name: OnPremName, Type: TypeEWS, EWS: c.OnPrem, Key: OnPremName})
	}
	if c.Cloud != nil {
		c.endpoints = append(c.endpoints, &Endpoint{Name: CloudName, Type: TypeGraph, Graph: c.Cloud, Key: CloudName})
	}
	n := resolve(c.RawEndpoints.node)
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		bad("endpoints", "line %d: must be a map of names to endpoints, e.g. contoso: {type: graph, tenant_id: ..., client_id: ...}", n.Line)
		return errs
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		name := k.Value
		key := "endpoints." + name
		switch first, dup := lines[name]; {
		case name == "":
			bad("endpoints", "line %d: an endpoint has an empty name; name it, e.g. contoso", k.Line)
			continue
		case dup:
			bad(key, "is defined twice (lines %d and %d); keep one, or rename one", first, k.Line)
			continue
		case !ValidEndpointName(name):
			bad(key, "%q is not an endpoint name; use lower-case letters, digits and - (e.g. contoso or fabrikam-eu), not auto", name)
		}
		lines[name] = k.Line
		if name == OnPremName && legacyOnPrem || name == CloudName && legacyCloud {
			bad(key, "the %s: block defines the endpoint %s already; move its settings under endpoints.%s, or give this one another name", name, name, name)
			continue
		}
		if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			bad(key, "has no settings; give it type: ews or type: graph and the settings of that side")
			continue
		}
		if v.Kind != yaml.MappingNode {
			bad(key, "line %d: must be a map of settings with type: ews or type: graph", v.Line)
			continue
		}
		keys := mappingKeys(v)
		typ := ""
		for _, kv := range keys {
			if kv[0].Value == "type" {
				typ = kv[1].Value
			}
		}
		var allowed, other []string
		switch typ {
		case "":
			bad(key+".type", "is required: ews (Exchange Server through EWS) or graph (Exchange Online through Microsoft Graph)")
			continue
		case TypeEWS:
			allowed, other = ewsKeys, graphKeys
		case TypeGraph:
			allowed, other = graphKeys, ewsKeys
		default:
			bad(key+".type", "%q is not an endpoint type; use ews (Exchange Server through EWS) or graph (Exchange Online through Microsoft Graph)", typ)
			continue
		}
		unknown := false
		for _, kv := range keys {
			kname := kv[0].Value
			if kname == "type" || slices.Contains(allowed, kname) {
				continue
			}
			unknown = true
			switch hint, ok := keyHints[kname]; {
			case slices.Contains(other, kname):
				bad(key+"."+kname, "is not a setting of a %s endpoint (line %d); remove it, or check the endpoint's type", typ, kv[0].Line)
			case ok && slices.Contains(allowed, hint):
				bad(key+"."+kname, "is not a setting of a %s endpoint (line %d); did you mean %s?", typ, kv[0].Line, hint)
			default:
				bad(key+"."+kname, "is not a setting of a %s endpoint (line %d); use %s", typ, kv[0].Line, strings.Join(allowed, ", "))
			}
		}
		if unknown {
			continue
		}
		ep := &Endpoint{Name: name, Type: typ, Key: key}
		var err error
		if typ == TypeEWS {
			ep.EWS = new(OnPrem)
			err = v.Decode(ep.EWS)
		} else {
			ep.Graph = new(Cloud)
			err = v.Decode(ep.Graph)
		}
		if err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				err = errors.New(strings.Join(te.Errors, "; "))
			}
			bad(key, "%v", err)
			continue
		}
		switch {
		case name == OnPremName && typ != TypeEWS:
			bad(key+".type", "the endpoint named onprem is the on-prem side of --direction and must be type ews; give this one another name")
			continue
		case name == CloudName && typ != TypeGraph:
			bad(key+".type", "the endpoint named cloud is the Exchange Online side of --direction and must be type graph; give this one another name")
			continue
		}
		c.endpoints = append(c.endpoints, ep)
		// The endpoints named onprem and cloud are the two sides, however
		// they are written.
		if name == OnPremName {
			c.OnPrem = ep.EWS
		} else if name == CloudName {
			c.Cloud = ep.Graph
		}
	}
	return errs
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mappingKeys lists a mapping's key and value nodes, with the keys that
// YAML merge keys (<<: *defaults) bring in.
func mappingKeys(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Tag == "!!merge" && v != nil {
			switch v.Kind {
			case yaml.MappingNode:
				out = append(out, mappingKeys(v)...)
			case yaml.SequenceNode:
				for _, m := range v.Content {
					if m = resolve(m); m != nil && m.Kind == yaml.MappingNode {
						out = append(out, mappingKeys(m)...)
					}
				}
			}
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}
