package reports

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/mailbox"
)

var (
	//go:embed assets/report.html.tmpl
	htmlTemplateText string
	//go:embed assets/report.css
	reportCSS string
	//go:embed assets/monitor.js
	monitorJS string
	//go:embed assets/report.js
	reportJS string
)

// htmlTemplate is parsed once; a template is safe for concurrent Execute.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes":      humanize.Bytes,
	"int":        func(n int64) string { return formatInt(n) },
	"count":      func(n int) string { return formatInt(int64(n)) },
	"sevLbl":     func(s Severity) string { return severityLabel(s) },
	"sevKey":     sevKey,
	"date":       dateOnly,
	"plural":     plural,
	"lowerBound": func() string { return LowerBoundNote },
}).Parse(htmlTemplateText))

// The page's Content-Security-Policy allows nothing to load from anywhere
// and only our two scripts to run (by hash), so that even an escaping bug
// could not run an injected script, and the report provably works offline.
var contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
	"script-src " + scriptHash(monitorJS) + " " + scriptHash(reportJS) + "; base-uri 'none'; form-action 'none'"

func scriptHash(js string) string {
	sum := sha256.Sum256([]byte(js))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Limits that keep a report of thousands of mailboxes readable and light;
// findings.csv and the per-mailbox sections carry everything.
const (
	maxRowsPerCode      = 200
	maxFoldersPerMbx    = 5
	maxItemsPerMbx      = 5
	openMailboxTableMax = 300
	// mailboxPageSize must match the nth-child rule in report.css.
	mailboxPageSize = 200
)

type htmlView struct {
	Title, Organisation string
	GeneratedAt         string
	AssessedAt          string
	Tool                string
	CSP                 string
	CSS                 template.CSS
	MonitorJS           template.JS
	ReportJS            template.JS

	Sum        Summary
	KPIs       []kpi
	Readiness  donut
	Locations  barChart
	Categories barChart
	Volume     barChart
	Kinds      barChart
	Largest    []largestRow
	Manual     []kpi // things to rebuild or decide by hand
	Copy       *copyView
	PF         *PublicFolderStats
	Probes     []FidelityProbe
	TopN       int

	FindingGroups []categoryView
	TopBlockers   []topCode // why mailboxes are blocked
	TopWarnings   []topCode // what is lost or must be done by hand
	Findings      int
	Mailboxes     []mbView
	OpenTable     bool
	Paged         bool // only the first PageSize mailbox sections show at first
	PageSize      int
}

type kpi struct {
	Label, Value, Sub, Tone string
}

// donut is a ring chart drawn with one circle per segment whose dash covers
// its share of the circumference; the template's radius, 15.9155, makes the
// circumference 100 so that dash lengths are percentages.
type donut struct {
	Segs   []donutSeg
	Center string
	Sub    string
	Label  string
}

type donutSeg struct {
	Key, Label, Class string
	N                 int64
	Dash, Gap, Offset string
	Pct               string
}

func makeDonut(label, center, sub string, counts []Count, class func(string) string) donut {
	d := donut{Center: center, Sub: sub, Label: label}
	var total int64
	for _, c := range counts {
		total += c.N
	}
	cum := 0.0
	for _, c := range counts {
		p := percent(c.N, total)
		seg := donutSeg{Key: c.Key, Label: c.Label, Class: class(c.Key), N: c.N, Pct: formatPercent(p)}
		if p > 0 {
			seg.Dash = ff(p)
			seg.Gap = ff(100 - p)
			seg.Offset = ff(25 - cum) // start at twelve o'clock
		}
		cum += p
		d.Segs = append(d.Segs, seg)
	}
	return d
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// barChart is a horizontal bar chart, each bar stacked from segments.
type barChart struct {
	Width, Height int
	LabelW        int
	LabelX        int // right edge of the labels
	TrackW        int
	Rows          []barRow
	Legend        []legendItem
	Empty         string
	Label         string // for screen readers
}

type barRow struct {
	Label, Full string
	TextY       int
	BarY        int
	BarH        int
	Segs        []barSeg
	Value       string
	ValueX      string
}

type barSeg struct {
	X, W, Class, Title string
}

type legendItem struct{ Label, Class string }

const (
	chartWidth  = 560
	chartLabelW = 170
	chartValueW = 96
	rowH        = 30
	barH        = 16
)

type barInput struct {
	Label string
	Value string
	Segs  []segInput
}

type segInput struct {
	N     int64
	Class string
	Title string
}

func makeBars(label string, rows []barInput, legend []legendItem, empty string) barChart {
	c := barChart{Label: label, Width: chartWidth, LabelW: chartLabelW, LabelX: chartLabelW - 10, TrackW: chartWidth - chartLabelW - chartValueW, Legend: legend, Empty: empty}
	var maxTotal int64
	for _, r := range rows {
		var t int64
		for _, s := range r.Segs {
			t += s.N
		}
		maxTotal = max(maxTotal, t)
	}
	span := float64(chartWidth - chartLabelW - chartValueW)
	for i, r := range rows {
		y := 6 + i*rowH
		br := barRow{Label: shorten(r.Label, 24), Full: r.Label, TextY: y + barH/2 + 5, BarY: y, BarH: barH, Value: r.Value}
		x := float64(chartLabelW)
		for _, s := range r.Segs {
			if s.N <= 0 || maxTotal == 0 {
				continue
			}
			w := span * float64(s.N) / float64(maxTotal)
			br.Segs = append(br.Segs, barSeg{X: ff(x), W: ff(max(w, 1.5)), Class: s.Class, Title: s.Title})
			x += w
		}
		br.ValueX = ff(x + 8)
		c.Rows = append(c.Rows, br)
	}
	c.Height = 12 + len(rows)*rowH
	return c
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func readinessClass(k string) string {
	switch Readiness(k) {
	case Ready:
		return "c-ready"
	case Warnings:
		return "c-warn"
	case Blocked:
		return "c-block"
	}
	return "c-unread"
}

func sevKey(s Severity) string {
	switch s {
	case SeverityBlocker, SeverityWarning, SeverityInfo:
		return string(s)
	}
	return "other"
}

type largestRow struct {
	Anchor, Address, Location, Readiness, ReadinessKey string
	Size, Items                                        string
	Pct                                                string
	SizeBytes                                          int64
	ItemsN                                             int64
}

type copyView struct {
	P             *CopyProgress
	Status        donut
	ItemsPct      string
	ItemsPctN     string
	CopiedSub     string
	Skips         barChart
	Unreconciled  []reconRow
	UnreconTotal  int
	Unfinished    []reconRow
	UnfinishedTot int
}

type reconRow struct {
	Anchor, Address, Status, StatusKey string
	Source, Target, Skipped, Gap       int64
	LastPass                           string
	// ToCopy, OnTarget and Remaining are the mailbox's Plan, for the
	// copies not finished: their source and target are not counted yet.
	ToCopy, OnTarget, Remaining int64
	Planned                     bool
}

type categoryView struct {
	Key, Label                    string
	Blocker, Warning, Info, Other int
	Mailboxes                     int
	Codes                         []codeGroup
}

type codeGroup struct {
	Code      string
	Severity  Severity
	Count     int
	Mailboxes int
	Remedy    string
	Fix       string
	VarRemedy bool
	VarFix    bool
	Rows      []findingRow
	Hidden    int
	ID        string
	// Items sums the findings' item counts; Counted says every finding
	// of the code counts items, so that the sum means something.
	Items   int64
	Counted bool
	// itemsBy sums Items per object (the kind, for content findings),
	// objects in the order first found.
	itemsBy  map[string]int64
	objects  []string
	examples string // the first finding's mailbox
}

type findingRow struct {
	Anchor, Mailbox, Object, Found, Remedy, Fix string
}

type mbView struct {
	Anchor                         string
	Address, Location, Type, Batch string
	TypeDetail                     string
	Readiness, ReadinessKey        string
	Rank                           int // for sorting: blocked first
	Error                          string
	Size, Items                    string
	SizeBytes, ItemsN              int64
	Blockers, Warnings, Infos      int

	Kinds        []Count
	Facts        []kpi
	Findings     []mbFinding
	LargestItems []ItemSummary
	MoreItems    int
	Folders      []FolderSummary
	MoreFolders  int
	Copy         *CopySummary
	// State is the mailbox's State for people; StateKey its colour.
	State, StateKey string
	StateRank       int
	Gap             int64
	NegGap          int64
	Skips           []Count
	Duration        string
	// CopyKinds reads "mail 575, calendar 18 (6 with a loss), contacts 4".
	CopyKinds string
	// CopyPaths reads "mail mime, calendar typed, notes not carried".
	CopyPaths string
	// Forecast is the copy's time at the services' ceilings ("about 14
	// min", "unknown"), ForecastWhy what it rests on or why there is
	// none, ForecastSecs its seconds for sorting (-1: none).
	Forecast, ForecastWhy string
	ForecastSecs          int64
	// Observed is the rate the copy reached, or why it is not known.
	Observed string
	// ObservedIPS sorts the observed rate (-1: none).
	ObservedIPS float64
}

type mbFinding struct {
	Severity                                   Severity
	Category, Code, Object, Found, Remedy, Fix string
}

func mbAnchor(i int) string { return "mb-" + strconv.Itoa(i) }

func renderHTML(w io.Writer, a *Assessment, opts Options) error {
	md := newModel(a)
	v := buildView(md, opts)
	return htmlTemplate.Execute(w, v)
}

func buildView(md *model, opts Options) *htmlView {
	a, s := md.a, md.sum
	v := &htmlView{
		Title:        opts.title(),
		Organisation: strings.TrimSpace(opts.Organisation),
		GeneratedAt:  formatTime(opts.generatedAt()),
		AssessedAt:   formatTime(a.GeneratedAt),
		Tool:         a.Tool,
		CSP:          contentSecurityPolicy,
		CSS:          template.CSS(reportCSS),
		MonitorJS:    template.JS(monitorJS),
		ReportJS:     template.JS(reportJS),
		Sum:          s,
		PF:           s.PublicFolders,
		Probes:       a.FidelityProbes,
		TopN:         opts.topN(),
		Findings:     len(md.findings),
		OpenTable:    len(md.mailboxes) <= openMailboxTableMax,
		Paged:        len(md.mailboxes) > mailboxPageSize,
		PageSize:     mailboxPageSize,
	}
	total := int64(s.Mailboxes)
	// The readiness headlines count the mailboxes to move only.
	rc := map[string]int64{}
	for _, c := range s.ReadinessToMove {
		rc[c.Key] = c.N
	}
	sev := map[string]int64{}
	for _, c := range s.Severity {
		sev[c.Key] = c.N
	}
	v.KPIs = []kpi{
		{Label: "Mailboxes", Value: formatInt(total), Sub: fmt.Sprintf("%s to move · %s already in Exchange Online", formatInt(int64(s.ToMove)), formatInt(int64(s.InCloud)))},
		{Label: "Ready to move", Value: formatPercent(percent(int64(s.ReadyToMove), int64(s.ToMove))), Sub: fmt.Sprintf("%s ready · %s with warnings, of %s to move", formatInt(rc["ready"]), formatInt(rc["warnings"]), formatInt(int64(s.ToMove))), Tone: "good"},
		{Label: "Blocked", Value: formatInt(rc["blocked"]), Sub: fmt.Sprintf("%s unreadable, of %s to move", formatInt(rc["unreadable"]), formatInt(int64(s.ToMove))), Tone: tone(rc["blocked"]+rc["unreadable"], "bad")},
		{Label: "Data volume", Value: humanize.Bytes(s.SizeBytes), Sub: formatInt(s.Items) + " items in all mailboxes"},
	}
	if s.ArchiveMailboxes > 0 {
		v.KPIs = append(v.KPIs, kpi{Label: "Online archives", Value: humanize.Bytes(s.ArchiveBytes), Sub: fmt.Sprintf("%s mailboxes · %s items", formatInt(int64(s.ArchiveMailboxes)), formatInt(s.ArchiveItems))})
	}
	v.KPIs = append(v.KPIs, kpi{Label: "Findings", Value: formatInt(int64(s.Findings)), Sub: fmt.Sprintf("%s blockers · %s warnings · %s info", formatInt(sev["blocker"]), formatInt(sev["warning"]), formatInt(sev["info"])), Tone: tone(sev["blocker"], "bad")})
	if cp := s.Copy; cp != nil {
		v.KPIs = append(v.KPIs, kpi{Label: "Copied", Value: formatPercent(cp.ItemsPercent()), Sub: copiedSub(cp), Tone: "progress"})
	}
	if w := s.Forecast; w != nil {
		val := "unknown"
		if w.Mailboxes > 0 {
			val = forecast.About(time.Duration(w.Seconds) * time.Second)
		}
		sub := fmt.Sprintf("%s to move, %d at a time, at the services' ceilings", plural(w.Mailboxes, "mailbox", "mailboxes"), w.Parallel)
		if w.Unknown > 0 {
			sub += fmt.Sprintf("; %s without a forecast", plural(w.Unknown, "mailbox", "mailboxes"))
		}
		v.KPIs = append(v.KPIs, kpi{Label: "Copy forecast", Value: val, Sub: sub})
	}

	v.Readiness = makeDonut("Mailboxes to move by readiness", formatInt(int64(s.ToMove)), "to move", s.ReadinessToMove, readinessClass)

	readinessLegend := []legendItem{{"Ready", "c-ready"}, {"Ready with warnings", "c-warn"}, {"Blocked", "c-block"}, {"Unreadable", "c-unread"}}
	var locRows []barInput
	for _, l := range s.ByLocation {
		locRows = append(locRows, barInput{Label: l.Label, Value: formatInt(int64(l.Mailboxes)), Segs: []segInput{
			{int64(l.Ready), "c-ready", fmt.Sprintf("%s: %s ready", l.Label, formatInt(int64(l.Ready)))},
			{int64(l.Warnings), "c-warn", fmt.Sprintf("%s: %s with warnings", l.Label, formatInt(int64(l.Warnings)))},
			{int64(l.Blocked), "c-block", fmt.Sprintf("%s: %s blocked", l.Label, formatInt(int64(l.Blocked)))},
			{int64(l.Unreadable), "c-unread", fmt.Sprintf("%s: %s unreadable", l.Label, formatInt(int64(l.Unreadable)))},
		}})
	}
	v.Locations = makeBars("Mailboxes by location and readiness", locRows, readinessLegend, "No mailboxes in the assessment.")

	var catRows []barInput
	for _, c := range s.ByCategory {
		catRows = append(catRows, barInput{Label: c.Label, Value: formatInt(int64(c.Total())), Segs: []segInput{
			{int64(c.Blocker), "c-block", fmt.Sprintf("%s: %s blockers", c.Label, formatInt(int64(c.Blocker)))},
			{int64(c.Warning), "c-warn", fmt.Sprintf("%s: %s warnings", c.Label, formatInt(int64(c.Warning)))},
			{int64(c.Info), "c-info", fmt.Sprintf("%s: %s info", c.Label, formatInt(int64(c.Info)))},
			{int64(c.Other), "c-unread", fmt.Sprintf("%s: %s other", c.Label, formatInt(int64(c.Other)))},
		}})
	}
	v.Categories = makeBars("Findings by category and severity", catRows, []legendItem{{"Blocker", "c-block"}, {"Warning", "c-warn"}, {"Info", "c-info"}}, "No findings: nothing stands in the way.")

	var volRows []barInput
	for _, l := range s.ByLocation {
		volRows = append(volRows, barInput{Label: l.Label, Value: humanize.Bytes(l.SizeBytes), Segs: []segInput{{l.SizeBytes, "c-primary", fmt.Sprintf("%s: %s in %s items", l.Label, humanize.Bytes(l.SizeBytes), formatInt(l.Items))}}})
	}
	if s.ArchiveBytes > 0 {
		volRows = append(volRows, barInput{Label: "Online archives", Value: humanize.Bytes(s.ArchiveBytes), Segs: []segInput{{s.ArchiveBytes, "c-archive", "Online archives: " + humanize.Bytes(s.ArchiveBytes)}}})
	}
	if s.RecoverableBytes > 0 {
		volRows = append(volRows, barInput{Label: "Recoverable items", Value: humanize.Bytes(s.RecoverableBytes), Segs: []segInput{{s.RecoverableBytes, "c-recover", "Recoverable items: " + humanize.Bytes(s.RecoverableBytes)}}})
	}
	v.Volume = makeBars("Data volume", volRows, nil, "No data.")

	var kindRows []barInput
	for _, k := range s.ItemsByKind {
		kindRows = append(kindRows, barInput{Label: titleCase(k.Key), Value: formatInt(k.N), Segs: []segInput{{k.N, "c-primary", titleCase(k.Key) + ": " + formatInt(k.N) + " items"}}})
	}
	v.Kinds = makeBars("Items by kind", kindRows, nil, "No items counted.")

	// Largest mailboxes.
	bySize := slices.Clone(md.order)
	slices.SortStableFunc(bySize, func(x, y int) int {
		return cmp.Or(cmp.Compare(md.mailboxes[y].m.SizeBytes, md.mailboxes[x].m.SizeBytes), cmp.Compare(x, y))
	})
	bySize = bySize[:min(len(bySize), v.TopN)]
	var biggest int64
	if len(bySize) > 0 {
		biggest = md.mailboxes[bySize[0]].m.SizeBytes
	}
	for _, i := range bySize {
		mv := &md.mailboxes[i]
		v.Largest = append(v.Largest, largestRow{
			Anchor: mbAnchor(i), Address: mv.m.Address, Location: locationLabel(mv.m.Location),
			Readiness: readinessLabel(mv.readiness), ReadinessKey: readinessClass(string(mv.readiness)),
			Size: humanize.Bytes(mv.m.SizeBytes), Items: formatInt(mv.m.Items), SizeBytes: mv.m.SizeBytes, ItemsN: mv.m.Items,
			Pct: ff(percent(mv.m.SizeBytes, biggest)),
		})
	}

	v.Manual = []kpi{
		{Label: "Inbox rules Graph cannot express", Value: formatInt(s.Rules - s.RulesMappable), Sub: fmt.Sprintf("of %s rules", formatInt(s.Rules))},
		{Label: "Delegates to re-grant", Value: formatInt(s.Delegates)},
		{Label: "Holds to re-apply", Value: formatInt(s.Holds)},
		{Label: "Items over the tenant limit", Value: formatInt(s.ItemsOverTenant), Sub: formatInt(s.ItemsOver150MB) + " over 150 MB"},
	}

	if cp := s.Copy; cp != nil {
		v.Copy = buildCopyView(md, cp, v.TopN)
	}
	v.FindingGroups = buildFindingGroups(md)
	v.TopBlockers = topCodes(v.FindingGroups, SeverityBlocker, v.TopN)
	v.TopWarnings = topCodes(v.FindingGroups, SeverityWarning, v.TopN)
	v.Mailboxes = buildMailboxViews(md)
	return v
}

// copiedSub explains the "Copied" headline with its two sums, and says
// when some of the items to copy are planned rather than counted.
func copiedSub(cp *CopyProgress) string {
	sub := fmt.Sprintf("%s of %s items to copy on the target", formatInt(cp.ItemsOnTarget), formatInt(cp.ItemsToCopy))
	if cp.Planned > 0 {
		sub += fmt.Sprintf(" (planned for %s)", plural(cp.Planned, "mailbox", "mailboxes"))
	}
	return sub
}

func tone(n int64, t string) string {
	if n > 0 {
		return t
	}
	return "good"
}

func buildCopyView(md *model, cp *CopyProgress, topN int) *copyView {
	cv := &copyView{P: cp}
	cv.Status = makeDonut("Mailboxes to move by state", formatInt(int64(md.sum.ToMove)), "to move", cp.ByStatus, func(k string) string { return stateClass(State(k)) })
	ip := cp.ItemsPercent()
	cv.ItemsPct, cv.ItemsPctN = formatPercent(ip), ff(ip)
	cv.CopiedSub = copiedSub(cp)
	var skipRows []barInput
	for _, c := range cp.SkipReasons {
		skipRows = append(skipRows, barInput{Label: c.Label, Value: formatInt(c.N), Segs: []segInput{{c.N, "c-warn", c.Label + ": " + formatInt(c.N) + " items"}}})
	}
	cv.Skips = makeBars("Skipped items by reason", skipRows, nil, "No item was skipped.")
	var unrec, unfin []int
	for i := range md.mailboxes {
		c := md.mailboxes[i].m.Copy
		if c == nil {
			continue
		}
		if c.Status == "done" || c.Status == "completed" {
			if Gap(c) != 0 {
				unrec = append(unrec, i)
			}
		} else {
			unfin = append(unfin, i)
		}
	}
	abs := func(n int64) int64 { return max(n, -n) }
	byGap := func(x, y int) int {
		return cmp.Or(cmp.Compare(abs(Gap(md.mailboxes[y].m.Copy)), abs(Gap(md.mailboxes[x].m.Copy))), cmp.Compare(x, y))
	}
	slices.SortStableFunc(unrec, byGap)
	remaining := func(i int) int64 { p := md.mailboxes[i].plan; return p.ToCopy - p.OnTarget }
	slices.SortStableFunc(unfin, func(x, y int) int { return cmp.Or(cmp.Compare(remaining(y), remaining(x)), cmp.Compare(x, y)) })
	row := func(i int) reconRow {
		m, st := md.mailboxes[i].m, md.mailboxes[i].state
		return reconRow{Anchor: mbAnchor(i), Address: m.Address, Status: st.Label(), StatusKey: stateClass(st),
			Source: m.Copy.SourceItems, Target: m.Copy.TargetItems, Skipped: m.Copy.ItemsSkipped, Gap: Gap(m.Copy), LastPass: formatTime(m.Copy.LastPass),
			ToCopy: md.mailboxes[i].plan.ToCopy, OnTarget: md.mailboxes[i].plan.OnTarget, Remaining: remaining(i), Planned: !md.mailboxes[i].plan.Counted}
	}
	cv.UnreconTotal, cv.UnfinishedTot = len(unrec), len(unfin)
	for _, i := range unrec[:min(len(unrec), topN)] {
		cv.Unreconciled = append(cv.Unreconciled, row(i))
	}
	for _, i := range unfin[:min(len(unfin), topN)] {
		cv.Unfinished = append(cv.Unfinished, row(i))
	}
	return cv
}

func buildFindingGroups(md *model) []categoryView {
	anchors := make(map[string]string, len(md.mailboxes))
	for i := range md.mailboxes {
		anchors[strings.ToLower(md.mailboxes[i].m.Address)] = mbAnchor(i)
	}
	// Group by category in the summary's order, then by code, most serious
	// code first.
	idx := map[Category]*categoryView{}
	var cats []*categoryView
	for _, c := range md.sum.ByCategory {
		cv := &categoryView{Key: string(c.Category), Label: c.Label, Blocker: c.Blocker, Warning: c.Warning, Info: c.Info, Other: c.Other, Mailboxes: c.Mailboxes}
		idx[c.Category] = cv
		cats = append(cats, cv)
	}
	type key struct {
		cat  Category
		code string
	}
	groups := map[key]*codeGroup{}
	mbSeen := map[key]map[string]bool{}
	var order []key
	for _, f := range md.findings {
		k := key{f.Category, f.Code}
		g := groups[k]
		if g == nil {
			g = &codeGroup{Code: f.Code, Severity: f.Severity, Remedy: f.Remedy, Fix: f.Fix, Counted: true, itemsBy: map[string]int64{}, examples: f.Mailbox}
			groups[k] = g
			mbSeen[k] = map[string]bool{}
			order = append(order, k)
		}
		g.Count++
		g.Items += f.Items
		g.Counted = g.Counted && f.Items > 0
		if _, ok := g.itemsBy[f.Object]; !ok {
			g.objects = append(g.objects, f.Object)
		}
		g.itemsBy[f.Object] += f.Items
		if f.Severity.Rank() < g.Severity.Rank() {
			g.Severity = f.Severity
		}
		if f.Remedy != g.Remedy {
			g.VarRemedy = true
		}
		if f.Fix != g.Fix {
			g.VarFix = true
		}
		if f.Mailbox != "" {
			mbSeen[k][strings.ToLower(f.Mailbox)] = true
		}
	}
	for _, f := range md.findings {
		g := groups[key{f.Category, f.Code}]
		if len(g.Rows) >= maxRowsPerCode {
			g.Hidden++
			continue
		}
		r := findingRow{Anchor: anchors[strings.ToLower(f.Mailbox)], Mailbox: f.Mailbox, Object: f.Object, Found: f.Found}
		if g.VarRemedy {
			r.Remedy = f.Remedy
		}
		if g.VarFix {
			r.Fix = f.Fix
		}
		g.Rows = append(g.Rows, r)
	}
	slices.SortStableFunc(order, func(a, b key) int {
		return cmp.Or(cmp.Compare(groups[a].Severity.Rank(), groups[b].Severity.Rank()), cmp.Compare(groups[b].Count, groups[a].Count), cmp.Compare(a.code, b.code))
	})
	for n, k := range order {
		g := groups[k]
		g.Mailboxes = len(mbSeen[k])
		g.ID = "code-" + strconv.Itoa(n)
		if g.VarRemedy {
			g.Remedy = ""
		}
		if g.VarFix {
			g.Fix = ""
		}
		idx[k.cat].Codes = append(idx[k.cat].Codes, *g)
	}
	out := make([]categoryView, len(cats))
	for i, c := range cats {
		out[i] = *c
	}
	return out
}

// topCode is one finding code on the dashboard: what it is about and how
// many mailboxes it concerns.
type topCode struct {
	ID, Code, Category, Example string
	Count, Mailboxes            int
}

// example sums up a code in a line. One finding is quoted; several are
// summed when they count items ("calendar: 18 items in 2 mailboxes"),
// since quoting one mailbox's count beside the number of mailboxes reads
// as the total; otherwise one is quoted as an example, naming its mailbox.
func (g *codeGroup) example() string {
	if len(g.Rows) == 0 {
		return ""
	}
	if g.Count == 1 {
		return g.Rows[0].Found
	}
	where := ""
	if g.Mailboxes > 1 {
		where = " in " + plural(g.Mailboxes, "mailbox", "mailboxes")
	}
	if g.Counted {
		kinds := true
		for _, o := range g.objects {
			kinds = kinds && slices.Contains(mailbox.Kinds(), mailbox.Kind(o))
		}
		if !kinds {
			return plural(int(g.Items), "item", "items") + where + "."
		}
		if len(g.objects) == 1 {
			return formatInt(g.Items) + " " + g.objects[0] + " items" + where + "."
		}
		var parts []string
		for _, o := range g.objects {
			parts = append(parts, o+" "+formatInt(g.itemsBy[o]))
		}
		return plural(int(g.Items), "item", "items") + where + ": " + strings.Join(parts, ", ") + "."
	}
	if g.examples == "" {
		return g.Rows[0].Found
	}
	return "For example " + g.examples + ": " + g.Rows[0].Found
}

// topCodes lists the codes of one severity, those concerning the most
// mailboxes (then findings) first.
func topCodes(cats []categoryView, sev Severity, n int) []topCode {
	var out []topCode
	for _, c := range cats {
		for _, g := range c.Codes {
			if g.Severity != sev {
				continue
			}
			tc := topCode{ID: g.ID, Code: g.Code, Category: c.Label, Count: g.Count, Mailboxes: g.Mailboxes}
			tc.Example = shorten(g.example(), 140)
			out = append(out, tc)
		}
	}
	slices.SortStableFunc(out, func(a, b topCode) int {
		return cmp.Or(cmp.Compare(b.Mailboxes, a.Mailboxes), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code))
	})
	return out[:min(len(out), n)]
}

func buildMailboxViews(md *model) []mbView {
	out := make([]mbView, 0, len(md.order))
	for _, i := range md.order {
		mv := &md.mailboxes[i]
		m := mv.m
		v := mbView{
			Anchor: mbAnchor(i), Address: m.Address, Location: locationLabel(m.Location),
			Type: typeLabel(m.Type), TypeDetail: m.TypeDetail, Batch: m.Batch, Readiness: readinessLabel(mv.readiness), ReadinessKey: readinessClass(string(mv.readiness)),
			Rank: readinessRank(mv.readiness), Error: m.Error, Size: humanize.Bytes(m.SizeBytes), Items: formatInt(m.Items), SizeBytes: m.SizeBytes, ItemsN: m.Items,
			Blockers: mv.blockers, Warnings: mv.warnings, Infos: mv.infos,
		}
		kinds := counter{}
		for k, n := range m.ItemsByKind {
			kinds.add(string(k), n)
		}
		v.Kinds = kinds.ordered(toStrings(kindOrder), titleCase, false)
		v.Facts = []kpi{
			{Label: "Folders", Value: formatInt(int64(m.Folders)), Sub: fmt.Sprintf("depth %d, up to %s subfolders and %s items in one folder", m.MaxDepth, formatInt(m.MaxChildFolders), formatInt(m.MaxFolderItems))},
		}
		if m.Archive != nil {
			v.Facts = append(v.Facts, kpi{Label: "Online archive", Value: humanize.Bytes(m.Archive.SizeBytes), Sub: fmt.Sprintf("%s items in %d folders", formatInt(m.Archive.Items), m.Archive.Folders)})
		}
		v.Facts = append(v.Facts,
			kpi{Label: "Recoverable items", Value: humanize.Bytes(m.RecoverableBytes), Sub: formatInt(m.RecoverableItems) + " items"},
			kpi{Label: "Rules, delegates, holds", Value: fmt.Sprintf("%s (%d mappable to Graph), %s, %s", plural(m.Rules, "rule", "rules"), m.RulesMappable, plural(m.Delegates, "delegate", "delegates"), plural(m.Holds, "hold", "holds"))},
		)
		if m.ItemsOverTenant > 0 || m.ItemsOver150MB > 0 {
			v.Facts = append(v.Facts, kpi{Label: "Items over limits", Value: fmt.Sprintf("%s over the tenant limit, %s over 150 MB", formatInt(m.ItemsOverTenant), formatInt(m.ItemsOver150MB))})
		}
		for _, fi := range mv.findings {
			f := md.findings[fi]
			v.Findings = append(v.Findings, mbFinding{Severity: f.Severity, Category: categoryLabel(f.Category), Code: f.Code, Object: f.Object, Found: f.Found, Remedy: f.Remedy, Fix: f.Fix})
		}
		items := slices.Clone(m.LargestItems)
		slices.SortStableFunc(items, func(a, b ItemSummary) int { return cmp.Compare(b.SizeBytes, a.SizeBytes) })
		v.LargestItems = items[:min(len(items), maxItemsPerMbx)]
		v.MoreItems = len(items) - len(v.LargestItems)
		folders := slices.Clone(m.FolderStats)
		slices.SortStableFunc(folders, func(a, b FolderSummary) int {
			return cmp.Or(cmp.Compare(b.SizeBytes, a.SizeBytes), cmp.Compare(b.Items, a.Items))
		})
		v.Folders = folders[:min(len(folders), maxFoldersPerMbx)]
		v.MoreFolders = len(folders) - len(v.Folders)
		v.State, v.StateKey, v.StateRank = mv.state.Label(), stateClass(mv.state), stateRank(mv.state)
		v.Forecast, v.ForecastWhy = ForecastCell(m)
		v.ForecastSecs, v.ObservedIPS = -1, -1
		if m.Forecast != nil && m.Forecast.Known {
			v.ForecastSecs = m.Forecast.Seconds
		}
		if m.Copy != nil {
			v.Observed = observedLine(m.Copy.Observed)
			if o := measured(m); o != nil {
				v.ObservedIPS = o.ItemsPerSecond
			}
		}
		if c := m.Copy; c != nil {
			v.Copy = c
			v.Gap = Gap(c)
			v.NegGap = -v.Gap
			sk := counter{}
			for r, n := range c.SkipReasons {
				sk.add(r, n)
			}
			v.Skips = sk.bySize()
			if c.DurationMillis > 0 {
				v.Duration = "took " + (time.Duration(c.DurationMillis) * time.Millisecond).Round(time.Second).String()
			}
			v.CopyKinds = copyKindsLine(c)
			v.CopyPaths = copyPathsLine(c)
		}
		out = append(out, v)
	}
	return out
}

// copyKindsLine sums a mailbox's copy per kind in one line, in the order
// of mailbox.Kinds: "mail 575 copied, calendar 18 copied (6 with a loss)".
func copyKindsLine(c *CopySummary) string {
	var parts []string
	for _, k := range mailbox.Kinds() {
		kc, ok := c.Kinds[string(k)]
		if !ok {
			continue
		}
		p := fmt.Sprintf("%s %s copied", k, formatInt(kc.Copied))
		var lost int64
		for _, n := range kc.Losses {
			lost += n
		}
		var extra []string
		if lost > 0 {
			extra = append(extra, formatInt(lost)+" with a loss")
		}
		if kc.Skipped > 0 {
			extra = append(extra, formatInt(kc.Skipped)+" skipped")
		}
		if len(extra) > 0 {
			p += " (" + strings.Join(extra, ", ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// copyPathsLine says how each kind moved, store by store in the order of
// mailbox.Stores and kinds in the order of mailbox.Kinds; the primary
// store's name is left out.
func copyPathsLine(c *CopySummary) string {
	var parts []string
	for _, st := range mailbox.Stores() {
		for _, k := range mailbox.Kinds() {
			p, ok := c.Paths[string(st)+"/"+string(k)]
			if !ok {
				continue
			}
			name := string(k)
			if st != mailbox.ScopePrimary {
				name = string(st) + " " + name
			}
			parts = append(parts, name+" "+p)
		}
	}
	return strings.Join(parts, ", ")
}

// plural writes a count with the noun in the right number.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatInt(int64(n)) + " " + many
}

// Used by the template for received dates of items.
func dateOnly(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}
