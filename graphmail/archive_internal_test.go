package graphmail

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
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

func TestArchiveTree(t *testing.T) {
	w := func(id, parent, name string) ieWireFolder {
		return ieWireFolder{ID: id, ParentFolderID: parent, DisplayName: name}
	}
	tests := []struct {
		name  string
		in    []ieWireFolder
		paths []string // in order
		bad   bool
	}{
		{"empty", nil, nil, true},
		{"root and children", []ieWireFolder{w("c", "b", "C"), w("r", "", "Top"), w("b", "r", "B")}, []string{"", "B", "B/C"}, false},
		{"a second parentless folder under the root", []ieWireFolder{w("r", "x", "Top"), w("s", "", "Other"), w("a", "r", "A")}, []string{"", "Other", "A"}, false},
		{"a cycle left out", []ieWireFolder{w("r", "", "Top"), w("a", "b", "A"), w("b", "a", "B")}, []string{""}, false},
		{"a folder listed twice, and its own parent", []ieWireFolder{w("r", "", "Top"), w("a", "r", "A"), w("a", "a", "A")}, []string{"", "A"}, false},
		{"only a cycle", []ieWireFolder{w("a", "b", "A"), w("b", "a", "B")}, nil, true},
		{"a slash in a name", []ieWireFolder{w("r", "", "Top"), w("a", "r", "2019/2020")}, []string{"", `2019\/2020`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := archiveTree(tt.in)
			if (err != nil) != tt.bad {
				t.Fatalf("err %v, want bad %v", err, tt.bad)
			}
			var paths []string
			for _, f := range out {
				paths = append(paths, f.Path)
			}
			if strings.Join(paths, "|") != strings.Join(tt.paths, "|") {
				t.Errorf("paths %q, want %q", paths, tt.paths)
			}
		})
	}
}

func FuzzArchiveTree(f *testing.F) {
	f.Add(`[{"id":"r","displayName":"Top"},{"id":"a","parentFolderId":"r","displayName":"A"}]`)
	f.Add(`[{"id":"a","parentFolderId":"a"},{"id":"r"},{"id":"a","parentFolderId":"r"},{"id":"b","parentFolderId":"a"},{"id":"a","parentFolderId":"b"}]`)
	f.Add(`[{"id":""},{"id":"x","parentFolderId":""}]`)
	f.Fuzz(func(t *testing.T, data string) {
		var all []ieWireFolder
		if json.Unmarshal([]byte(data), &all) != nil {
			return
		}
		out, err := archiveTree(all)
		if err != nil {
			return
		}
		seen := map[string]mailbox.Folder{}
		for i, fo := range out {
			if _, dup := seen[fo.ID]; dup || fo.ID == "" {
				t.Fatalf("folder %d %q listed twice or without an id", i, fo.ID)
			}
			if i == 0 {
				if fo.Path != "" || fo.ParentID != "" {
					t.Fatalf("the root is %+v", fo)
				}
			} else if p, ok := seen[fo.ParentID]; !ok || fo.Path != mailbox.JoinPath(p.Path, fo.DisplayName) {
				t.Fatalf("folder %d %+v comes before its parent or has a wrong path", i, fo)
			}
			seen[fo.ID] = fo
		}
		if len(out) > len(all) {
			t.Fatalf("%d folders out of %d", len(out), len(all))
		}
	})
}
