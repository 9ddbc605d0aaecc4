package mapping

import (
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestItemTally(t *testing.T) {
	tally := NewItemTally(Limits{TenantMessageBytes: 35 << 20}, 3)
	items := []struct {
		folder string
		it     mailbox.Item
	}{
		{"Inbox", mailbox.Item{Subject: "a", Class: "IPM.Note", SizeBytes: 10 << 20}},
		{"Inbox", mailbox.Item{Subject: "b", Class: "IPM.Note.SMIME", SizeBytes: 36 << 20}},
		{"Calendar", mailbox.Item{Subject: "c", Class: "IPM.Appointment", SizeBytes: 1 << 10}},
		{"Inbox/Media", mailbox.Item{Subject: "d", Class: "IPM.Note", SizeBytes: 151 << 20}},
		{"Inbox", mailbox.Item{Subject: "e", Class: "IPM.Note", SizeBytes: 35 << 20}}, // at the limit, not over
		{"Tasks", mailbox.Item{Subject: "f", Class: "IPM.Task", SizeBytes: 36 << 20}}, // ties with b, comes after it
		{"Notes", mailbox.Item{Subject: "g", Class: "IPM.StickyNote", SizeBytes: 1}},
		{"Inbox", mailbox.Item{Subject: "h", Class: "IPM.Custom.Thing", SizeBytes: 2}},
	}
	var total int64
	for _, x := range items {
		tally.Add(x.folder, x.it)
		total += x.it.SizeBytes
	}
	snap := tally.Stats()
	if snap.Items != 8 || snap.SizeBytes != total || snap.OverTenant != 3 || snap.OverMax != 1 {
		t.Fatalf("stats %+v", snap)
	}
	wantKinds := map[mailbox.Kind]int64{mailbox.KindMail: 4, mailbox.KindCalendar: 1, mailbox.KindTasks: 1, mailbox.KindNotes: 1, mailbox.KindOther: 1}
	if !maps_equal(snap.ByKind, wantKinds) {
		t.Fatalf("ByKind %v", snap.ByKind)
	}
	var subjects []string
	for _, l := range snap.Largest {
		subjects = append(subjects, l.Subject)
	}
	if !slices.Equal(subjects, []string{"d", "b", "f"}) || snap.Largest[0].Folder != "Inbox/Media" {
		t.Fatalf("largest %+v", snap.Largest)
	}

	// The snapshot does not move when more items arrive.
	tally.Add("Inbox", mailbox.Item{Subject: "z", SizeBytes: 500 << 20})
	if snap.Largest[0].Subject != "d" || snap.Items != 8 || snap.ByKind[mailbox.KindMail] != 4 {
		t.Fatal("Stats shares state with the tally")
	}
	if s := tally.Stats(); s.Largest[0].Subject != "z" || len(s.Largest) != 3 {
		t.Fatalf("largest after z: %+v", s.Largest)
	}
}

func TestItemTallyDefaults(t *testing.T) {
	tally := NewItemTally(Limits{}, 0)
	for i := range 100 {
		tally.Add("Inbox", mailbox.Item{SizeBytes: int64(i) << 20})
	}
	st := tally.Stats()
	if len(st.Largest) != DefaultLargestItems || st.Largest[0].SizeBytes != 99<<20 || st.OverTenant != 99-35 || st.OverMax != 0 {
		t.Fatalf("defaults: %d largest, first %d, over tenant %d", len(st.Largest), st.Largest[0].SizeBytes, st.OverTenant)
	}
	for i := 1; i < len(st.Largest); i++ {
		if st.Largest[i-1].SizeBytes < st.Largest[i].SizeBytes {
			t.Fatal("largest not in descending order")
		}
	}
}

// The tally's memory does not grow with the number of items.
func BenchmarkItemTally(b *testing.B) {
	tally := NewItemTally(DefaultLimits(), DefaultLargestItems)
	it := mailbox.Item{Subject: "s", Class: "IPM.Note"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		it.SizeBytes = int64(i*7919) % (200 << 20)
		tally.Add("Inbox", it)
	}
}
