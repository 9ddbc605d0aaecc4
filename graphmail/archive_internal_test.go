package graphmail

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func auxTestMailbox() *Mailbox {
	base, _ := url.Parse("https://graph.microsoft.com/v1.0")
	return &Mailbox{c: &Client{base: base}, address: "alice@contoso.example"}
}

// auxiliaryURL lets a token go only to this Graph host's import/export API.
func TestAuxiliaryURL(t *testing.T) {
	m := auxTestMailbox()
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{"https://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:5ffdc069@601eaae7/exportItems", true},
		{"https://GRAPH.microsoft.com/beta/admin/exchange/mailboxes/MBX:a@b/exportItems", true},
		{"https://evil.example/beta/admin/exchange/mailboxes/MBX:a@b/exportItems", false},
		{"http://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:a@b/exportItems", false},
		{"https://graph.microsoft.com/v1.0/admin/exchange/mailboxes/MBX:a@b/exportItems", false},
		{"https://graph.microsoft.com/beta/users/alice/messages", false},
		{"https://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:a@b/createImportSession", false},
		{"https://user:pw@graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:a@b/exportItems", false},
		{"not a url %zz", false},
	} {
		_, err := m.auxiliaryURL(c.raw, "/exportItems")
		if (err == nil) != c.ok {
			t.Errorf("auxiliaryURL(%q): %v, want ok %v", c.raw, err, c.ok)
		}
	}
}

func FuzzAuxiliaryURL(f *testing.F) {
	for _, s := range []string{"https://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:a@b/exportItems", "https://x/y", "", "%"} {
		f.Add(s)
	}
	m := auxTestMailbox()
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := m.auxiliaryURL(raw, "/exportItems")
		if err != nil {
			return
		}
		p, perr := url.Parse(u)
		if perr != nil || !strings.EqualFold(p.Host, "graph.microsoft.com") || p.Scheme != "https" || !strings.HasPrefix(p.Path, "/beta/admin/exchange/mailboxes/") {
			t.Fatalf("%q accepted as %q", raw, u)
		}
	})
}

func TestAuxiliaryMailbox(t *testing.T) {
	for msg, want := range map[string]string{
		"Invalid import session. The target session is expected in mailbox MBX:f10964a6-4fd0-4f74-8@4d2e-9e48-109351d094ab.": "MBX:f10964a6-4fd0-4f74-8@4d2e-9e48-109351d094ab",
		`the answer is not Graph's JSON: {"Message":"... mailbox MBX:526fb17e@58646273."}`:                                   "MBX:526fb17e@58646273",
		"Conflict": "",
	} {
		if got := auxiliaryMailbox.FindString(msg); got != want {
			t.Errorf("%q: %q, want %q", msg, got, want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	req := func(raw string) *http.Request {
		r, _ := http.NewRequest("GET", raw, nil)
		return r
	}
	first := req("https://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:a@b/folders/x/items")
	for _, c := range []struct {
		to   string
		hops int
		ok   bool
	}{
		{"https://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:c@b/folders/x/items", 1, true},
		{"http://graph.microsoft.com/beta/admin/exchange/mailboxes/MBX:c@b/folders/x/items", 1, false},
		{"https://graph.microsoft.com.evil.example/beta/x", 1, false},
		{"https://graph.microsoft.com/beta/x", maxArchiveHops + 1, false},
	} {
		via := make([]*http.Request, c.hops)
		for i := range via {
			via[i] = first
		}
		if err := sameOrigin(req(c.to), via); (err == nil) != c.ok {
			t.Errorf("redirect to %s after %d: %v, want ok %v", c.to, c.hops, err, c.ok)
		}
	}
}
