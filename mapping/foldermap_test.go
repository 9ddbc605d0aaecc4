package mapping

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFolderMapping(t *testing.T) {
	tests := []struct {
		in       string
		from, to string
		err      string // substring of the error; empty means it parses
	}{
		{"Old/Path -> New/Path", "Old/Path", "New/Path", ""},
		{"Inbox->Archive/2024", "Inbox", "Archive/2024", ""},
		{"  Inbox / Projects  ->  Projects ", "Inbox/Projects", "Projects", ""},
		{"/Inbox/Old/ -> /Inbox/New/", "Inbox/Old", "Inbox/New", ""},
		{`Projects\/2024 -> Projects/2024`, `Projects\/2024`, "Projects/2024", ""},
		{`A \-> B -> C`, "A -> B", "C", ""},
		{`Back\\slash -> x`, `Back\\slash`, "x", ""},
		{`\ padded\  -> x`, " padded ", "x", ""},
		{"Boîte de réception -> Inbox", "Boîte de réception", "Inbox", ""},
		{"", "", "", `no "->"`},
		{"Inbox", "", "", `no "->"`},
		{"-> New", "", "", "source path: it is empty"},
		{"Old ->", "", "", "target path: it is empty"},
		{"Old ->  / ", "", "", "target path"},
		{"A -> B -> C", "", "", `more than one "->"`},
		{"A//B -> C", "", "", "folder name 2 is empty"},
		{`A\`, "", "", "lone backslash"},
		{"A\x01 -> B", "", "", "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseFolderMapping(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if !errors.Is(err, ErrFolderMapping) {
					t.Fatalf("err %v does not match ErrFolderMapping", err)
				}
				var fe *FolderMappingError
				if !errors.As(err, &fe) || fe.Rule != tc.in {
					t.Fatalf("err %v is not a *FolderMappingError naming the rule", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.From != tc.from || r.To != tc.to {
				t.Fatalf("got %q -> %q, want %q -> %q", r.From, r.To, tc.from, tc.to)
			}
			back, err := ParseFolderMapping(r.String())
			if err != nil || back != r {
				t.Fatalf("String() = %q parses to %+v, %v", r.String(), back, err)
			}
		})
	}
}

func TestParseFolderMappings(t *testing.T) {
	m, err := ParseFolderMappings([]string{"A -> B", "bad", "C -> D", "E -> F -> G"})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), `"E -> F -> G"`) {
		t.Fatalf("err = %v, want both bad rules named", err)
	}
	if len(m) != 2 || m[1].From != "C" {
		t.Fatalf("good rules = %+v", m)
	}
}

func TestFolderMappingsApply(t *testing.T) {
	m := FolderMappings{
		{From: "Inbox/Old", To: "Archive/Old"},
		{From: "Inbox", To: "Imported/Inbox"},
		{From: "Inbox/Old/Keep", To: "Keep"},
		{From: `A\/B`, To: "AB"},
		{From: "Inbox/Old", To: "Never"}, // shadowed by the first equal-length rule
	}
	tests := map[string]string{
		"Inbox":            "Imported/Inbox",
		"inbox/Sub":        "Imported/Inbox/Sub",
		"Inbox/Old":        "Archive/Old",
		"INBOX/OLD/x/y":    "Archive/Old/x/y",
		"Inbox/Old/Keep":   "Keep",
		"Inbox/Old/Keep/z": "Keep/z",
		"Inbox/Older":      "Imported/Inbox/Older",
		"Sent Items":       "Sent Items",
		"":                 "",
		`A\/B/c`:           "AB/c",
		"A/B/c":            "A/B/c", // two folders A and B, not one named A/B
		`Inbox/x\/y`:       `Imported/Inbox/x\/y`,
	}
	for in, want := range tests {
		if got := m.Apply(in); got != want {
			t.Errorf("Apply(%q) = %q, want %q", in, got, want)
		}
	}
	for path, matched := range map[string]bool{"Inbox": true, "Sent Items": false, "": false, "inbox/old/keep": true} {
		if _, ok := m.Lookup(path); ok != matched {
			t.Errorf("Lookup(%q) matched = %v, want %v", path, ok, matched)
		}
	}
	same := FolderMappings{{From: "Inbox", To: "Inbox"}}
	if out, ok := same.Lookup("inbox/x"); !ok || out != "Inbox/x" {
		t.Errorf("identity rule: Lookup = %q, %v", out, ok)
	}
	if got := FolderMappings(nil).Apply("Inbox/A"); got != "Inbox/A" {
		t.Errorf("no rules changed the path to %q", got)
	}
}

func FuzzParseFolderMapping(f *testing.F) {
	for _, s := range []string{
		"Old/Path -> New/Path", "Inbox->Archive", `A \-> B -> C`, `Projects\/2024 -> x`,
		`\ a\  -> b`, "/a/ -> /b/", "a -> b -> c", `a\`, "", "->", "a-/>b -> c", "-> >", "a- -> >b",
		"Boîte -> 受信トレイ", "\xff -> \xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseFolderMapping(s)
		if err != nil {
			if !errors.Is(err, ErrFolderMapping) {
				t.Fatalf("error %v does not match ErrFolderMapping", err)
			}
			return
		}
		if r.From == "" || r.To == "" {
			t.Fatalf("%q parsed to an empty path: %+v", s, r)
		}
		back, err := ParseFolderMapping(r.String())
		if err != nil || back != r {
			t.Fatalf("%q: String() = %q parses to %+v, %v; want %+v", s, r.String(), back, err, r)
		}
		m := FolderMappings{r}
		if got := m.Apply(r.From); got != r.To {
			t.Fatalf("Apply(%q) = %q, want %q", r.From, got, r.To)
		}
		if got := m.Apply(r.From + "/sub"); got != r.To+"/sub" {
			t.Fatalf("Apply(%q) = %q, want %q", r.From+"/sub", got, r.To+"/sub")
		}
	})
}
