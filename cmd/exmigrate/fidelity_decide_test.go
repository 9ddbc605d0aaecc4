package main

import (
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestNeedsProbe(t *testing.T) {
	ff := func(dialect string) mailbox.Path {
		return mailbox.Path{Store: mailbox.ScopePrimary, Kind: mailbox.KindCalendar, Format: mailbox.FormatFullFidelity, Dialect: dialect}
	}
	mime := mailbox.Path{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME}
	ews := mailbox.Capabilities{Backend: "ews", Reads: []mailbox.Path{mime, ff(mailbox.DialectEWS)}, Writes: []mailbox.Path{mime, ff(mailbox.DialectEWS)}}
	ewsNoFF := mailbox.Capabilities{Backend: "ews", Reads: []mailbox.Path{mime, ff(mailbox.DialectEWS)}, Writes: []mailbox.Path{mime}}
	graph := mailbox.Capabilities{Backend: "graph", Reads: []mailbox.Path{mime, ff(mailbox.DialectGraph)}, Writes: []mailbox.Path{mime, ff(mailbox.DialectGraph)}, UnstampedImports: true}
	graphNoFF := mailbox.Capabilities{Backend: "graph", Reads: []mailbox.Path{mime}, Writes: []mailbox.Path{mime}}
	for _, tt := range []struct {
		name     string
		src, dst mailbox.Capabilities
		want     string
	}{
		{"ews to ews: same data, stamped", ews, ews, ""},
		{"ews to ews without full-fidelity writes", ews, ewsNoFF, ""},
		{"ews to graph: another service's data", ews, graph, "stamps no import"},
		{"graph to graph: unstamped imports", graph, graph, "stamps no import"},
		{"graph to ews: another service's data", graph, ews, "not documented to take the source's graph-export data"},
		{"source without full fidelity", graphNoFF, ews, ""},
		{"target without full fidelity", ews, graphNoFF, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := needsProbe(tt.src, tt.dst)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("needsProbe = %q, want %q", got, tt.want)
			}
		})
	}
}
