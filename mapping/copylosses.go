package mapping

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/exmigrate/exmigrate/reports"
)

// maxLossSubjects bounds the items one finding names; the count stays
// exact.
const maxLossSubjects = 20

// CopyLossFindings turns what the copies carried with a loss (the copy
// results merged into the assessment) into findings: one per mailbox and
// loss code, counting the items and naming the first of them. A code the
// catalogue does not know is reported under CodeContentCarriedWithLoss,
// so that no loss goes unreported. It returns how many it added.
func CopyLossFindings(a *reports.Assessment) int {
	added := 0
	for _, m := range a.Mailboxes {
		c := m.Copy
		if c == nil {
			continue
		}
		type tally struct {
			kinds []string
			n     int64
		}
		byCode := map[string]*tally{}
		for kind, kc := range c.Kinds {
			for code, n := range kc.Losses {
				t := byCode[code]
				if t == nil {
					t = &tally{}
					byCode[code] = t
				}
				t.n += n
				t.kinds = append(t.kinds, kind)
			}
		}
		for _, code := range slices.Sorted(maps.Keys(byCode)) {
			t := byCode[code]
			slices.Sort(t.kinds)
			var subjects []string
			for _, l := range c.Losses {
				if l.Code == code && len(subjects) < maxLossSubjects {
					subjects = append(subjects, cmp.Or(l.Subject, "(no subject)"))
				}
			}
			object := strings.Join(subjects, "; ")
			if more := t.n - int64(len(subjects)); more > 0 && len(subjects) > 0 {
				object += fmt.Sprintf("; and %s more", count(more, "item"))
			}
			what := code
			if k, known := KindByCode(code); known {
				what = strings.ToLower(k.Title[:1]) + k.Title[1:]
			} else {
				code = CodeContentCarriedWithLoss
			}
			f := newFinding(code, m.Address, object,
				fmt.Sprintf("%s (%s) copied with a loss: %s.", count(t.n, "item"), strings.Join(t.kinds, ", "), what), "", nil)
			f.Items = t.n
			a.Findings = append(a.Findings, f)
			added++
		}
	}
	return added
}
