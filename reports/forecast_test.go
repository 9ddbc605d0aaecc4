package reports

import (
	"testing"

	"github.com/exmigrate/exmigrate/internal/forecast"
)

func TestForecastMailbox(t *testing.T) {
	tests := []struct {
		name     string
		m        MailboxAssessment
		from, to forecast.Service
		toWhy    string
		known    bool
		seconds  int64
		decides  string
		unknown  string
	}{
		// 10,000 requests go at once, the next 10,000 at 10,000 per 10
		// minutes: 10 minutes.
		{"onboarding, requests decide", MailboxAssessment{Readiness: Ready, Items: 20_000, SizeBytes: 20_000 * 7_000},
			forecast.ExchangeServer, forecast.Online, "", true, 600, "requests", ""},
		// 150 MB go at once, the other 1.35 GB at 150 MB per 5 minutes.
		{"onboarding, uploads decide", MailboxAssessment{Readiness: Warnings, Items: 10, SizeBytes: 1_500_000_000},
			forecast.ExchangeServer, forecast.Online, "", true, 2700, "uploads", ""},
		// The archive moves too: 10,000 + 10,000 items.
		{"archive counted", MailboxAssessment{Readiness: Ready, Items: 10_000, Archive: &ArchiveStats{Items: 10_000}},
			forecast.ExchangeServer, forecast.Online, "", true, 600, "requests", ""},
		// Reading from the cloud: downloads are not uploads.
		{"offboarding, no byte limit", MailboxAssessment{Readiness: Ready, Items: 20_000, SizeBytes: 1_500_000_000},
			forecast.Online, forecast.ExchangeServer, "", true, 600, "requests", ""},
		// A small mailbox: the limits hold nothing back.
		{"within one window", MailboxAssessment{Readiness: Ready, Items: 9_000, SizeBytes: 100_000_000},
			forecast.ExchangeServer, forecast.Online, "", true, 0, "", ""},
		// The 200 MB and 40 MB items over the 35 MB limit are skipped, not
		// sent: 200 MB left, 50 MB beyond the window, 100 seconds.
		{"items over the tenant limit left out", MailboxAssessment{Readiness: Ready, Items: 12, SizeBytes: 240<<20 + 200_000_000, ItemsOverTenant: 2,
			LargestItems: []ItemSummary{{SizeBytes: 200 << 20}, {SizeBytes: 40 << 20}, {SizeBytes: 1_000_000}}},
			forecast.ExchangeServer, forecast.Online, "", true, 100, "uploads", ""},
		// Not named among the largest: at most the smallest named size
		// each, so 300 MB and 3 items go.
		{"unnamed items over the limit", MailboxAssessment{Readiness: Ready, Items: 20_003, SizeBytes: 300<<20 + 1000*1000, ItemsOverTenant: 3,
			LargestItems: []ItemSummary{{SizeBytes: 100 << 20}, {SizeBytes: 100 << 20}}},
			forecast.ExchangeServer, forecast.Online, "", true, 600, "requests", ""},
		// Exchange Server's limit is not the tenant's: nothing left out
		// (left out, the 30 items would bring it within the window).
		{"offboarding keeps them", MailboxAssessment{Readiness: Ready, Items: 10_030, ItemsOverTenant: 30, LargestItems: []ItemSummary{{SizeBytes: 200 << 20}}},
			forecast.Online, forecast.ExchangeServer, "", true, 2, "requests", ""},
		{"between Exchange Servers", MailboxAssessment{Readiness: Ready, Items: 500},
			forecast.ExchangeServer, forecast.ExchangeServer, "", false, 0, "", NoPublishedCeiling},
		{"target not known", MailboxAssessment{Readiness: Ready, Items: 500},
			forecast.ExchangeServer, "", "named by --to", false, 0, "", "named by --to"},
		{"unreadable", MailboxAssessment{Readiness: Unreadable},
			forecast.ExchangeServer, forecast.Online, "", false, 0, "", "the mailbox could not be read: nothing to forecast from"},
		{"empty mailbox", MailboxAssessment{Readiness: Ready},
			forecast.ExchangeServer, forecast.Online, "", true, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ForecastMailbox(&tc.m, tc.from, tc.to, tc.toWhy, 35<<20)
			if f.Known != tc.known || f.Seconds != tc.seconds || f.Decides != tc.decides || f.Unknown != tc.unknown {
				t.Errorf("ForecastMailbox = known %v, %d s, decides %q, unknown %q; want %v, %d s, %q, %q",
					f.Known, f.Seconds, f.Decides, f.Unknown, tc.known, tc.seconds, tc.decides, tc.unknown)
			}
		})
	}
}

func TestWaveOf(t *testing.T) {
	known := func(s int64) MailboxAssessment {
		return MailboxAssessment{Location: "onprem", Readiness: Ready, Forecast: &Forecast{Known: true, Seconds: s}}
	}
	tests := []struct {
		name     string
		mbs      []MailboxAssessment
		parallel int
		want     WaveForecast
		line     string
	}{
		{"two at a time", []MailboxAssessment{known(600), known(600), known(600)}, 2,
			WaveForecast{Parallel: 2, Mailboxes: 3, Seconds: 1200}, "at the services' ceilings, 3 mailboxes 2 at a time: about 20 min"},
		// A mailbox in Exchange Online with no job is not in the wave.
		{"in-cloud left out", []MailboxAssessment{known(600), {Location: "cloud", Readiness: Ready, Forecast: &Forecast{Known: true, Seconds: 9000}}}, 4,
			WaveForecast{Parallel: 4, Mailboxes: 1, Seconds: 600}, "at the services' ceilings, 1 mailbox 4 at a time: about 10 min"},
		{"unknown counted apart", []MailboxAssessment{known(12_000), {Location: "onprem", Readiness: Ready, Forecast: &Forecast{Unknown: NoPublishedCeiling}}, {Location: "onprem"}}, 16,
			WaveForecast{Parallel: 16, Mailboxes: 1, Seconds: 12_000, Unknown: 2}, "at the services' ceilings, 1 mailbox 16 at a time: about 3 h 20 min; 2 mailboxes without a forecast not counted"},
		{"none known", []MailboxAssessment{{Location: "onprem", Forecast: &Forecast{Unknown: NoPublishedCeiling}}}, 0,
			WaveForecast{Parallel: 1, Unknown: 1}, "no mailbox to move has a forecast; 1 mailbox without a forecast not counted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := WaveOf(&Assessment{Mailboxes: tc.mbs}, tc.parallel)
			if w != tc.want {
				t.Errorf("WaveOf = %+v; want %+v", w, tc.want)
			}
			if got := w.Line(); got != tc.line {
				t.Errorf("Line = %q; want %q", got, tc.line)
			}
		})
	}
}

func TestForecastCellUsesMeasuredRateOnlyWithoutCeiling(t *testing.T) {
	obs := &ObservedRate{Pass: "first", Items: 600, Bytes: 60_000_000, DurationMillis: 60_000, ItemsPerSecond: 10, BytesPerSecond: 1_000_000}
	tests := []struct {
		name  string
		m     MailboxAssessment
		short string
	}{
		{"no ceiling, measured", MailboxAssessment{Forecast: &Forecast{Items: 6000, Bytes: 60_000_000, Unknown: NoPublishedCeiling}, Copy: &CopySummary{Observed: obs}}, "about 10 min (measured)"},
		{"no ceiling, not measured", MailboxAssessment{Forecast: &Forecast{Items: 6000, Unknown: NoPublishedCeiling}, Copy: &CopySummary{Observed: &ObservedRate{Unknown: "no pass has run"}}}, "unknown"},
		// A known ceiling stays the figure: a measurement is shown beside
		// it, never instead of it.
		{"ceiling known", MailboxAssessment{Forecast: &Forecast{Known: true, Seconds: 1200, Decides: "requests", From: "Exchange Server", To: "Exchange Online"}, Copy: &CopySummary{Observed: obs}}, "about 20 min"},
		{"within the window", MailboxAssessment{Forecast: &Forecast{Known: true, From: "Exchange Server", To: "Exchange Online"}}, "no wait"},
		{"no forecast", MailboxAssessment{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := ForecastCell(&tc.m); got != tc.short || why == "" {
				t.Errorf("ForecastCell = %q (%q); want %q with a reason", got, why, tc.short)
			}
		})
	}
}
