package forecast

import (
	"testing"
	"time"
)

func TestCeilingDuration(t *testing.T) {
	eo := ExchangeOnline()
	tests := []struct {
		name         string
		c            Ceiling
		items, bytes int64
		want         time.Duration
		ok           bool
	}{
		// 10,000 requests per 10 minutes: 20,000 small items take 20 minutes.
		{"requests decide", eo, 20_000, 20_000 * 7_000, 20 * time.Minute, true},
		// 150 MB per 5 minutes: 1.5 GB in 10 items takes 50 minutes.
		{"uploads decide", eo, 10, 1_500_000_000, 50 * time.Minute, true},
		{"nothing to copy", eo, 0, 0, 0, true},
		{"no published limit", Ceiling{}, 500, 1 << 20, 0, false},
		{"items only", Ceiling{ItemsPerSecond: 10}, 100, 1 << 30, 10 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.c.Duration(tc.items, tc.bytes)
			if ok != tc.ok || (ok && absDiff(got, tc.want) > time.Second) {
				t.Errorf("Duration(%d, %d) = %v, %v; want %v, %v", tc.items, tc.bytes, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestWave(t *testing.T) {
	eo := ExchangeOnline()
	mb := func(items int64) Mailbox { return Mailbox{Items: items, Ceiling: eo} }
	tests := []struct {
		name     string
		mbs      []Mailbox
		parallel int
		want     time.Duration
		complete bool
	}{
		// Four mailboxes of 10 min each, two at a time: 20 minutes.
		{"two slots", []Mailbox{mb(10_000), mb(10_000), mb(10_000), mb(10_000)}, 2, 20 * time.Minute, true},
		// The big mailbox decides when it runs beside the small ones.
		{"one big", []Mailbox{mb(60_000), mb(10_000), mb(10_000), mb(10_000)}, 4, 60 * time.Minute, true},
		// In list order: the big one last, after a slot frees at 10 min.
		{"big last", []Mailbox{mb(10_000), mb(10_000), mb(60_000)}, 2, 70 * time.Minute, true},
		{"more slots than mailboxes", []Mailbox{mb(10_000)}, 16, 10 * time.Minute, true},
		{"unknown ceiling", []Mailbox{mb(10_000), {Items: 5}}, 2, 10 * time.Minute, false},
		{"empty", nil, 4, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Wave(tc.mbs, tc.parallel)
			if absDiff(f.Total, tc.want) > time.Second || f.Complete != tc.complete {
				t.Errorf("Wave = %v complete %v; want %v complete %v", f.Total, f.Complete, tc.want, tc.complete)
			}
		})
	}
}

func TestSlower(t *testing.T) {
	got := Slower(ExchangeOnline(), Ceiling{ItemsPerSecond: 5})
	if got.ItemsPerSecond != 5 || got.BytesPerSecond != ExchangeOnline().BytesPerSecond {
		t.Errorf("Slower = %+v", got)
	}
	if got := Slower(Ceiling{}, Ceiling{}); got.Known() {
		t.Errorf("two unknown ceilings make a known one: %+v", got)
	}
}

func absDiff(a, b time.Duration) time.Duration {
	if a > b {
		return a - b
	}
	return b - a
}

func TestLowerBound(t *testing.T) {
	eo := ExchangeOnline()
	tests := []struct {
		name         string
		c            Ceiling
		items, bytes int64
		want         time.Duration
		ok           bool
	}{
		// 10,000 requests go at once; the next 10,000 wait 10 minutes.
		{"requests beyond a window", eo, 20_000, 20_000 * 7_000, 10 * time.Minute, true},
		// 150 MB go at once; the other 1.35 GB take 45 minutes.
		{"uploads beyond a window", eo, 10, 1_500_000_000, 45 * time.Minute, true},
		// A small mailbox is not held back by the limits at all.
		{"within the budgets", eo, 9_000, 100_000_000, 0, true},
		{"no published limit", Ceiling{}, 50_000, 1 << 30, 0, false},
		{"reading has no byte limit", ExchangeOnlineRead(), 10_000, 1 << 40, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.c.LowerBound(tc.items, tc.bytes)
			if ok != tc.ok || absDiff(got, tc.want) > time.Second {
				t.Errorf("LowerBound(%d, %d) = %v, %v; want %v, %v", tc.items, tc.bytes, got, ok, tc.want, tc.ok)
			}
			if d, _ := tc.c.Duration(tc.items, tc.bytes); ok && got > d {
				t.Errorf("LowerBound %v is over the steady-rate Duration %v", got, d)
			}
		})
	}
}

func TestBetween(t *testing.T) {
	tests := []struct {
		name     string
		from, to Service
		want     Ceiling
	}{
		// Onboarding writes into Exchange Online: requests and uploads.
		{"onboarding", ExchangeServer, Online, ExchangeOnline()},
		// Offboarding reads from Exchange Online: requests only, downloads
		// are not uploads.
		{"offboarding", Online, ExchangeServer, ExchangeOnlineRead()},
		{"cloud to cloud", Online, Online, ExchangeOnline()},
		{"on-prem to on-prem", ExchangeServer, ExchangeServer, Ceiling{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Between(tc.from, tc.to); got != tc.want {
				t.Errorf("Between(%s, %s) = %+v; want %+v", tc.from, tc.to, got, tc.want)
			}
		})
	}
	if Between(ExchangeServer, ExchangeServer).Known() {
		t.Error("a copy between Exchange Servers has a known ceiling; none is published")
	}
}

func TestDecides(t *testing.T) {
	eo := ExchangeOnline()
	tests := []struct {
		name         string
		c            Ceiling
		items, bytes int64
		want         string
	}{
		{"many small items", eo, 20_000, 20_000 * 7_000, "requests"},
		{"few big items", eo, 10, 1_500_000_000, "uploads"},
		{"within one window's budgets", eo, 9_000, 100_000_000, ""},
		{"nothing", eo, 0, 0, ""},
		{"read ceiling has no byte limit", ExchangeOnlineRead(), 10_010, 1_500_000_000, "requests"},
		{"no ceiling", Ceiling{}, 10, 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Decides(tc.items, tc.bytes); got != tc.want {
				t.Errorf("Decides(%d, %d) = %q; want %q", tc.items, tc.bytes, got, tc.want)
			}
		})
	}
}

func TestMeasured(t *testing.T) {
	tests := []struct {
		name         string
		items, bytes int64
		took         time.Duration
		ok           bool
		ips, bps     float64
	}{
		{"a pass", 1_000, 50_000_000, 20 * time.Second, true, 50, 2_500_000},
		{"no time", 1_000, 1, 0, false, 0, 0},
		{"nothing copied", 0, 0, time.Minute, false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Measured(tc.items, tc.bytes, tc.took)
			if ok != tc.ok || c.ItemsPerSecond != tc.ips || c.BytesPerSecond != tc.bps {
				t.Errorf("Measured = %+v, %v; want %v/s %v B/s, %v", c, ok, tc.ips, tc.bps, tc.ok)
			}
		})
	}
}

func TestAbout(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "no wait"},
		{400 * time.Millisecond, "about 1 s"},
		{42 * time.Second, "about 42 s"},
		{59*time.Minute + 50*time.Second, "about 1 h"},
		{14*time.Minute + 20*time.Second, "about 14 min"},
		{3*time.Hour + 20*time.Minute, "about 3 h 20 min"},
		{47 * time.Hour, "about 47 h"},
		{50 * time.Hour, "about 2 d 2 h"},
		{72 * time.Hour, "about 3 d"},
	}
	for _, tc := range tests {
		if got := About(tc.d); got != tc.want {
			t.Errorf("About(%v) = %q; want %q", tc.d, got, tc.want)
		}
	}
}

func TestSchedule(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name     string
		each     []time.Duration
		parallel int
		want     time.Duration
	}{
		{"one slot adds up", []time.Duration{m, 2 * m, 3 * m}, 1, 6 * m},
		{"list order, the slot free first", []time.Duration{m, m, 6 * m}, 2, 7 * m},
		{"more slots than jobs", []time.Duration{4 * m}, 16, 4 * m},
		{"nothing", nil, 4, 0},
		{"zero parallel is one", []time.Duration{m, m}, 0, 2 * m},
	}
	for _, tc := range tests {
		if got := Schedule(tc.each, tc.parallel); got != tc.want {
			t.Errorf("%s: Schedule = %v, want %v", tc.name, got, tc.want)
		}
	}
}
