package reports

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Summary is the arithmetic every format shows at the top: how many
// mailboxes, where, how ready, how much data, which findings, and how far
// the copy jobs have come. Lists are in a fixed order so that output built
// from them is stable.
type Summary struct {
	Mailboxes int
	// ToMove are the mailboxes of the wave: every state but in-cloud;
	// InCloud the others (Mailboxes = ToMove + InCloud).
	ToMove  int
	InCloud int
	// States counts every mailbox by State, in the order of States.
	States []Count
	// Readiness counts mailboxes per state, in the order ready, warnings,
	// blocked, unreadable, then any other value found in the input.
	Readiness []Count
	// ReadinessToMove is the same for the mailboxes to move only, and
	// ReadyToMove of those, how many are ready or ready with warnings.
	ReadinessToMove []Count
	ReadyToMove     int
	ByLocation      []LocationCount
	ByType          []Count

	Items       int64
	SizeBytes   int64
	ItemsByKind []Count // mail, calendar, contacts, tasks, notes, other, then others

	ArchiveMailboxes int
	ArchiveItems     int64
	ArchiveBytes     int64
	RecoverableItems int64
	RecoverableBytes int64
	ItemsOverTenant  int64
	ItemsOver150MB   int64
	Rules            int64
	RulesMappable    int64
	Delegates        int64
	Holds            int64

	Findings   int
	Severity   []Count // blocker, warning, info, then others
	ByCategory []CategoryCount

	PublicFolders *PublicFolderStats
	// Copy is nil when no mailbox carries copy results.
	Copy *CopyProgress
	// Forecast is the wave's copy forecast (WaveOf at the assessment's
	// parallel); nil when the assessment has none.
	Forecast *WaveForecast
}

// Count is one labelled number.
type Count struct {
	Key   string // the value in the assessment, e.g. "blocked"
	Label string // for people, e.g. "Blocked"
	N     int64
}

// LocationCount is the mailboxes of one location by readiness.
type LocationCount struct {
	Location   mailbox.Location
	Label      string
	Mailboxes  int
	Ready      int
	Warnings   int
	Blocked    int
	Unreadable int
	Items      int64
	SizeBytes  int64
}

// CategoryCount is the findings of one category by severity.
type CategoryCount struct {
	Category  Category
	Label     string
	Blocker   int
	Warning   int
	Info      int
	Other     int
	Mailboxes int // distinct mailboxes concerned
}

// Total is the number of findings in the category.
func (c CategoryCount) Total() int { return c.Blocker + c.Warning + c.Info + c.Other }

// CopyProgress sums up the copy of the mailboxes to move (every state but
// in-cloud). SCHEMA.md ("Headline numbers") defines each figure.
type CopyProgress struct {
	WithResult int // mailboxes that carry a copy result
	// ByStatus counts the mailboxes to move by State, in the order of
	// States (in-cloud left out), every state listed.
	ByStatus []Count
	// ItemsToCopy and ItemsOnTarget sum each mailbox's Plan: the "Copied"
	// headline is their ratio.
	ItemsToCopy   int64
	ItemsOnTarget int64
	// Planned counts the mailboxes whose ItemsToCopy is planned (from the
	// assessment or the items recorded so far), not yet counted by a
	// reconciliation.
	Planned      int
	ItemsCopied  int64
	BytesCopied  int64
	ItemsSkipped int64
	ItemsPending int64
	SourceItems  int64
	TargetItems  int64
	SkipReasons  []Count // largest first
	// Finished is the number of mailboxes whose last pass finished with
	// nothing skipped (job status done, whatever their readiness);
	// Reconciled of those, how many have exactly source - skipped items
	// on the target.
	Finished   int
	Reconciled int
	LastPass   time.Time
	// Kinds is the progress per item kind, in the order of mailbox.Kinds,
	// for the kinds the assessment or the copy saw.
	Kinds []KindProgress
}

// KindProgress is one item kind across the mailboxes with a copy result.
type KindProgress struct {
	Kind     string
	Assessed int64 // items of the kind the assessment counted
	Copied   int64
	Skipped  int64
	Lost     int64 // copied with a loss (an item counts once per loss code)
}

// Gap is what the target lacks for one mailbox after its copy: source items
// minus skipped items minus target items. Positive means missing items;
// negative means the target holds more (items that were already there).
func Gap(c *CopySummary) int64 {
	if c == nil {
		return 0
	}
	return c.SourceItems - c.ItemsSkipped - c.TargetItems
}

// ItemsPercent is the "Copied" headline: the items on the target of the
// items to copy, 0-100.
func (p *CopyProgress) ItemsPercent() float64 {
	return percent(p.ItemsOnTarget, p.ItemsToCopy)
}

func percent(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	v := float64(n) * 100 / float64(of)
	return min(max(v, 0), 100)
}

var (
	readinessOrder = []Readiness{Blocked, Unreadable, Warnings, Ready}
	severityOrder  = []Severity{SeverityBlocker, SeverityWarning, SeverityInfo}
	kindOrder      = []mailbox.Kind{mailbox.KindMail, mailbox.KindCalendar, mailbox.KindContacts, mailbox.KindTasks, mailbox.KindNotes, mailbox.KindOther}
	categoryOrder  = Categories()
)

// readinessRank orders mailboxes for readers: what needs action first.
func readinessRank(r Readiness) int {
	if i := slices.Index(readinessOrder, r); i >= 0 {
		return i
	}
	return len(readinessOrder)
}

func readinessLabel(r Readiness) string {
	switch r {
	case Ready:
		return "Ready"
	case Warnings:
		return "Ready with warnings"
	case Blocked:
		return "Blocked"
	case Unreadable:
		return "Unreadable"
	}
	return titleCase(string(r))
}

func locationLabel(l mailbox.Location) string {
	switch l {
	case mailbox.LocationOnPrem:
		return "On-premises"
	case mailbox.LocationCloud:
		return "Exchange Online"
	case mailbox.LocationAuto, "":
		return "Not detected"
	}
	return titleCase(string(l))
}

func typeLabel(t mailbox.MailboxType) string {
	if t == mailbox.TypeUnknown {
		return "Unknown"
	}
	return titleCase(string(t))
}

func severityLabel(s Severity) string {
	switch s {
	case SeverityBlocker:
		return "Blocker"
	case SeverityWarning:
		return "Warning"
	case SeverityInfo:
		return "Info"
	}
	return titleCase(string(s))
}

// categoryLabels names every category of Categories for people.
var categoryLabels = map[Category]string{
	CategoryRules:         "Inbox rules",
	CategoryPublicFolders: "Public folders",
	CategoryHolds:         "Holds",
	CategoryArchive:       "Archive",
	CategoryDelegates:     "Delegates",
	CategoryLimits:        "Limits",
	CategoryContent:       "Content",
	CategoryAccess:        "Access",
}

func categoryLabel(c Category) string {
	if l, ok := categoryLabels[c]; ok {
		return l
	}
	if c == "" {
		return "Uncategorised"
	}
	return titleCase(strings.ReplaceAll(string(c), "-", " "))
}

func titleCase(s string) string {
	if s == "" {
		return "Unknown"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// model is an assessment prepared once for the renderers: findings sorted
// and indexed by mailbox, each mailbox's effective readiness, the summary.
type model struct {
	a         *Assessment
	findings  []Finding        // sorted: severity, category, code, mailbox, object
	byMailbox map[string][]int // lower-cased address -> indexes into findings
	mailboxes []mailboxView    // in input order
	order     []int            // indexes into mailboxes: readiness, then address
	sum       Summary
	orgWide   []int // findings that name no mailbox
	unknownMB []int // findings naming a mailbox that is not in the assessment
}

type mailboxView struct {
	m         *MailboxAssessment
	readiness Readiness
	state     State
	plan      Plan
	blockers  int
	warnings  int
	infos     int
	findings  []int
}

func newModel(a *Assessment) *model {
	md := &model{a: a, byMailbox: map[string][]int{}}
	md.findings = slices.Clone(a.Findings)
	slices.SortStableFunc(md.findings, compareFindings)
	known := make(map[string]bool, len(a.Mailboxes))
	for i := range a.Mailboxes {
		known[strings.ToLower(a.Mailboxes[i].Address)] = true
	}
	for i, f := range md.findings {
		switch key := strings.ToLower(f.Mailbox); {
		case key == "":
			md.orgWide = append(md.orgWide, i)
		case known[key]:
			md.byMailbox[key] = append(md.byMailbox[key], i)
		default:
			md.unknownMB = append(md.unknownMB, i)
		}
	}
	md.mailboxes = make([]mailboxView, len(a.Mailboxes))
	for i := range a.Mailboxes {
		m := &a.Mailboxes[i]
		v := mailboxView{m: m, findings: md.byMailbox[strings.ToLower(m.Address)]}
		for _, fi := range v.findings {
			switch md.findings[fi].Severity {
			case SeverityBlocker:
				v.blockers++
			case SeverityWarning:
				v.warnings++
			default:
				v.infos++
			}
		}
		v.readiness = effectiveReadiness(m, v.blockers, v.warnings)
		v.state = StateOf(m.Location, v.readiness, m.Copy)
		v.plan = PlanOf(m, v.state)
		md.mailboxes[i] = v
	}
	md.order = make([]int, len(md.mailboxes))
	for i := range md.order {
		md.order[i] = i
	}
	slices.SortStableFunc(md.order, func(x, y int) int {
		a, b := &md.mailboxes[x], &md.mailboxes[y]
		return cmp.Or(
			cmp.Compare(readinessRank(a.readiness), readinessRank(b.readiness)),
			cmp.Compare(strings.ToLower(a.m.Address), strings.ToLower(b.m.Address)),
		)
	})
	md.sum = md.summarize()
	return md
}

// effectiveReadiness is the assessment's verdict; when the assessment left
// it empty, it is derived the way assess derives it, so that old or
// hand-made files still report sensibly.
func effectiveReadiness(m *MailboxAssessment, blockers, warnings int) Readiness {
	switch {
	case m.Readiness != "":
		return m.Readiness
	case m.Error != "":
		return Unreadable
	case blockers > 0:
		return Blocked
	case warnings > 0:
		return Warnings
	}
	return Ready
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Severity.Rank(), b.Severity.Rank()),
		cmp.Compare(categoryRank(a.Category), categoryRank(b.Category)),
		cmp.Compare(a.Category, b.Category),
		cmp.Compare(a.Code, b.Code),
		cmp.Compare(strings.ToLower(a.Mailbox), strings.ToLower(b.Mailbox)),
		cmp.Compare(a.Object, b.Object),
	)
}

func categoryRank(c Category) int {
	if i := slices.Index(categoryOrder, c); i >= 0 {
		return i
	}
	return len(categoryOrder)
}

// Summarize computes the summary of an assessment, for callers that want the
// figures without a report (a chat message, an exit status).
func Summarize(a *Assessment) Summary {
	if a == nil {
		return Summary{}
	}
	return newModel(a).sum
}

func (md *model) summarize() Summary {
	s := Summary{Mailboxes: len(md.mailboxes), PublicFolders: md.a.PublicFolders, Findings: len(md.findings)}
	readiness := counter{}
	types := counter{}
	kinds := counter{}
	locs := map[mailbox.Location]*LocationCount{}
	var locOrder []mailbox.Location
	copyStatus := counter{}
	states := counter{}
	readinessToMove := counter{}
	skips := counter{}
	kindProgs := map[string]*KindProgress{}
	kindProg := func(k string) *KindProgress {
		if kindProgs[k] == nil {
			kindProgs[k] = &KindProgress{Kind: k}
		}
		return kindProgs[k]
	}
	var cp CopyProgress
	for i := range md.mailboxes {
		v := &md.mailboxes[i]
		m := v.m
		readiness.add(string(v.readiness), 1)
		types.add(string(m.Type), 1)
		loc := m.Location
		if loc == "" {
			loc = mailbox.LocationAuto
		}
		lc := locs[loc]
		if lc == nil {
			lc = &LocationCount{Location: loc, Label: locationLabel(loc)}
			locs[loc] = lc
			locOrder = append(locOrder, loc)
		}
		lc.Mailboxes++
		lc.Items += m.Items
		lc.SizeBytes += m.SizeBytes
		switch v.readiness {
		case Ready:
			lc.Ready++
		case Warnings:
			lc.Warnings++
		case Blocked:
			lc.Blocked++
		default:
			lc.Unreadable++
		}
		s.Items += m.Items
		s.SizeBytes += m.SizeBytes
		for k, n := range m.ItemsByKind {
			kinds.add(string(k), n)
		}
		if m.Archive != nil {
			s.ArchiveMailboxes++
			s.ArchiveItems += m.Archive.Items
			s.ArchiveBytes += m.Archive.SizeBytes
		}
		s.RecoverableItems += m.RecoverableItems
		s.RecoverableBytes += m.RecoverableBytes
		s.ItemsOverTenant += m.ItemsOverTenant
		s.ItemsOver150MB += m.ItemsOver150MB
		s.Rules += int64(m.Rules)
		s.RulesMappable += int64(m.RulesMappable)
		s.Delegates += int64(m.Delegates)
		s.Holds += int64(m.Holds)
		states.add(string(v.state), 1)
		if v.state.ToMove() {
			s.ToMove++
			readinessToMove.add(string(v.readiness), 1)
			if v.readiness == Ready || v.readiness == Warnings {
				s.ReadyToMove++
			}
			copyStatus.add(string(v.state), 1)
			cp.ItemsToCopy += v.plan.ToCopy
			cp.ItemsOnTarget += v.plan.OnTarget
			if !v.plan.Counted {
				cp.Planned++
			}
		} else {
			s.InCloud++
		}
		if c := m.Copy; c != nil {
			cp.WithResult++
			cp.ItemsCopied += c.ItemsCopied
			cp.BytesCopied += c.BytesCopied
			cp.ItemsSkipped += c.ItemsSkipped
			cp.ItemsPending += c.ItemsPending
			cp.SourceItems += c.SourceItems
			cp.TargetItems += c.TargetItems
			for r, n := range c.SkipReasons {
				skips.add(r, n)
			}
			for k, n := range m.ItemsByKind {
				kindProg(string(k)).Assessed += n
			}
			for k, kc := range c.Kinds {
				kp := kindProg(k)
				kp.Copied += kc.Copied
				kp.Skipped += kc.Skipped
				for _, n := range kc.Losses {
					kp.Lost += n
				}
			}
			if c.Status == "done" || c.Status == "completed" {
				cp.Finished++
				if Gap(c) == 0 {
					cp.Reconciled++
				}
			}
			if c.LastPass.After(cp.LastPass) {
				cp.LastPass = c.LastPass
			}
		}
	}
	s.Readiness = readiness.ordered(toStrings(readinessOrderForDisplay), func(k string) string { return readinessLabel(Readiness(k)) }, true)
	s.ReadinessToMove = readinessToMove.ordered(toStrings(readinessOrderForDisplay), func(k string) string { return readinessLabel(Readiness(k)) }, true)
	s.States = states.ordered(toStrings(States()), func(k string) string { return State(k).Label() }, true)
	s.ByType = types.ordered([]string{"user", "shared", "room", "equipment"}, func(k string) string { return typeLabel(mailbox.MailboxType(k)) }, false)
	s.ItemsByKind = kinds.ordered(toStrings(kindOrder), titleCase, false)
	slices.SortStableFunc(locOrder, func(a, b mailbox.Location) int { return cmp.Compare(locationRank(a), locationRank(b)) })
	for _, l := range locOrder {
		s.ByLocation = append(s.ByLocation, *locs[l])
	}

	sev := counter{}
	cats := map[Category]*CategoryCount{}
	catMailboxes := map[Category]map[string]bool{}
	var catOrder []Category
	for _, f := range md.findings {
		sev.add(string(f.Severity), 1)
		cc := cats[f.Category]
		if cc == nil {
			cc = &CategoryCount{Category: f.Category, Label: categoryLabel(f.Category)}
			cats[f.Category] = cc
			catMailboxes[f.Category] = map[string]bool{}
			catOrder = append(catOrder, f.Category)
		}
		switch f.Severity {
		case SeverityBlocker:
			cc.Blocker++
		case SeverityWarning:
			cc.Warning++
		case SeverityInfo:
			cc.Info++
		default:
			cc.Other++
		}
		if f.Mailbox != "" {
			catMailboxes[f.Category][strings.ToLower(f.Mailbox)] = true
		}
	}
	s.Severity = sev.ordered(toStrings(severityOrder), func(k string) string { return severityLabel(Severity(k)) }, true)
	slices.SortStableFunc(catOrder, func(a, b Category) int {
		return cmp.Or(cmp.Compare(categoryRank(a), categoryRank(b)), cmp.Compare(a, b))
	})
	for _, c := range catOrder {
		cc := cats[c]
		cc.Mailboxes = len(catMailboxes[c])
		s.ByCategory = append(s.ByCategory, *cc)
	}

	if cp.WithResult > 0 {
		toMove := slices.DeleteFunc(States(), func(s State) bool { return !s.ToMove() })
		cp.ByStatus = copyStatus.ordered(toStrings(toMove), func(k string) string { return State(k).Label() }, true)
		cp.SkipReasons = skips.bySize()
		for _, k := range mailbox.Kinds() {
			if kp := kindProgs[string(k)]; kp != nil {
				cp.Kinds = append(cp.Kinds, *kp)
				delete(kindProgs, string(k))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(kindProgs)) {
			cp.Kinds = append(cp.Kinds, *kindProgs[k])
		}
		s.Copy = &cp
	}
	if md.a.Wave != nil {
		w := md.wave(md.a.Wave.Parallel)
		s.Forecast = &w
	}
	return s
}

// readinessOrderForDisplay is the order of the readiness legend: good news
// first, as a sponsor reads it.
var readinessOrderForDisplay = []Readiness{Ready, Warnings, Blocked, Unreadable}

func locationRank(l mailbox.Location) int {
	switch l {
	case mailbox.LocationOnPrem:
		return 0
	case mailbox.LocationCloud:
		return 1
	case mailbox.LocationAuto:
		return 2
	}
	return 3
}

func toStrings[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// counter counts by key and lists the counts in a known order.
type counter map[string]int64

func (c counter) add(k string, n int64) { c[k] += n }

// ordered lists the known keys first (all of them when keepZero, else only
// those seen), then the unknown ones alphabetically.
func (c counter) ordered(known []string, label func(string) string, keepZero bool) []Count {
	var out []Count
	for _, k := range known {
		if n, ok := c[k]; ok || keepZero {
			out = append(out, Count{Key: k, Label: label(k), N: n})
		}
	}
	var rest []string
	for k := range c {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, Count{Key: k, Label: label(k), N: c[k]})
	}
	return out
}

// bySize lists the counts largest first, ties by key.
func (c counter) bySize() []Count {
	out := make([]Count, 0, len(c))
	for k, n := range c {
		out = append(out, Count{Key: k, Label: k, N: n})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key)) })
	return out
}

// formatInt prints an integer with thousands separators.
func formatInt(n int64) string { return humanize.Count(n) }

func formatPercent(p float64) string {
	switch {
	case p > 0 && p < 0.1:
		return "<0.1%"
	case p < 100 && p > 99.9:
		return ">99.9%"
	case p == float64(int64(p)):
		return fmt.Sprintf("%d%%", int64(p))
	}
	return fmt.Sprintf("%.1f%%", p)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Headline is the summary in one plain-text sentence, for a chat message or
// a mail subject line: figures only, no addresses and no markup. The
// readiness figures count the mailboxes to move, as the HTML headlines do.
func (s Summary) Headline() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", plural(s.Mailboxes, "mailbox", "mailboxes"), humanize.Bytes(s.SizeBytes))
	if s.InCloud > 0 {
		fmt.Fprintf(&b, ", %s to move", formatInt(int64(s.ToMove)))
	}
	var parts []string
	for _, c := range s.ReadinessToMove {
		if c.N == 0 {
			continue
		}
		label := strings.ToLower(c.Label)
		if c.Key == string(Warnings) {
			label = "with warnings"
		}
		parts = append(parts, formatInt(c.N)+" "+label)
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	var blockers int64
	for _, c := range s.Severity {
		if c.Key == string(SeverityBlocker) {
			blockers = c.N
		}
	}
	fmt.Fprintf(&b, "; %s (%s)", plural(s.Findings, "finding", "findings"), plural(int(blockers), "blocker", "blockers"))
	if cp := s.Copy; cp != nil {
		fmt.Fprintf(&b, "; copy: %s of the items to copy on the target, %s of %s finished copies reconcile",
			formatPercent(cp.ItemsPercent()), formatInt(int64(cp.Reconciled)), formatInt(int64(cp.Finished)))
	}
	b.WriteString(".")
	return b.String()
}
