package wavestatus

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/internal/selection"
)

//go:embed assets/page.html.tmpl assets/status.css assets/status.js
var assets embed.FS

var page = template.Must(template.New("").Funcs(template.FuncMap{
	"bytes": humanize.Bytes,
	"when":  timeText,
	"owner": ownerText,
}).ParseFS(assets, "assets/page.html.tmpl"))

// csp allows the page nothing but its own files: no inline script or
// style, no other origin, no frames.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServerOptions configure Handler.
type ServerOptions struct {
	Store     Store       // opened read-only
	StateFile string      // shown on the page
	StateName string      // names the state in errors (Options.StateName)
	List      []ListEntry // the mailbox list, if given
	ListName  string
	// Refresh is how often the page asks again; the state is read at most
	// once per MinRead, however many pages ask.
	Refresh time.Duration
	MinRead time.Duration
	// AnyHost accepts every Host header. Off, only loopback names are
	// accepted, so that a web page elsewhere cannot read the state through
	// the browser with a DNS name pointed at 127.0.0.1 (DNS rebinding).
	AnyHost bool
	Log     *slog.Logger
	Now     func() time.Time // nil is time.Now
}

// Server is the read-only page of `exmigrate serve`. Every page reads the
// state file again (or the read of the last MinRead), so it shows what
// copies in any number of other processes have written.
type Server struct {
	o   ServerOptions
	mux *http.ServeMux

	mu     sync.Mutex
	cached *Wave // every job, before selection
	readAt time.Time
}

// NewServer builds the page's handler.
func NewServer(o ServerOptions) *Server {
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.MinRead < 0 {
		o.MinRead = 0
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.overview)
	s.mux.HandleFunc("GET /mailbox/{id}", s.detail)
	s.mux.HandleFunc("GET /api/wave", s.apiWave)
	s.mux.HandleFunc("GET /api/mailbox/{id}", s.apiDetail)
	s.mux.HandleFunc("GET /assets/{name}", s.asset)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if !s.o.AnyHost && !loopbackHost(r.Host) {
		http.Error(w, "this page answers only on a loopback address (127.0.0.1, ::1 or localhost); start serve with --listen to publish it elsewhere", http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// loopbackHost says whether a Host header names this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wave is every job of the state, read again when the last read is older
// than MinRead.
func (s *Server) wave(ctx context.Context) (*Wave, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	if s.cached != nil && now.Sub(s.readAt) < s.o.MinRead {
		return s.cached, nil
	}
	w, err := Load(ctx, s.o.Store, s.o.StateFile, Options{List: s.o.List, ListName: s.o.ListName, Now: now, StateName: s.o.StateName})
	if err != nil {
		return nil, err
	}
	s.cached, s.readAt = w, now
	return w, nil
}

// selected applies the query's filters (?only=, ?batch=, ?mailbox=) to
// the wave, through the same selection as the commands.
func (s *Server) selected(ctx context.Context, q url.Values) (*Wave, selection.Criteria, error) {
	var c selection.Criteria
	all, err := s.wave(ctx)
	if err != nil {
		return nil, c, err
	}
	if c.Only, err = selection.ParseOnly(q["only"]); err != nil {
		return all, c, &queryError{err}
	}
	c.Batches, c.Mailboxes = q["batch"], q["mailbox"]
	if len(c.Batches) > 0 && s.o.List == nil {
		return all, c, &queryError{errors.New("--batch needs --mailboxes: start serve with the mailbox list to filter by its Batch column")}
	}
	cands := make([]selection.Candidate, len(all.Jobs))
	for i, j := range all.Jobs {
		cands[i] = selection.Candidate{Address: j.Mailbox, Batch: j.Batch}
	}
	name := s.o.ListName
	if s.o.List == nil {
		name = "the state file"
		if s.o.StateName != "" {
			name = s.o.StateName
		}
	}
	idx, err := c.Select(cands, name, func(i int) selection.State { return all.Jobs[i].State })
	if err != nil {
		return all, c, &queryError{err}
	}
	w := *all
	w.Jobs = make([]Job, 0, len(idx))
	for _, i := range idx {
		w.Jobs = append(w.Jobs, all.Jobs[i])
	}
	w.Totals = total(w.Jobs)
	return &w, c, nil
}

// queryError is a bad filter in the page's query: the reader's mistake,
// not the server's.
type queryError struct{ err error }

func (e *queryError) Error() string { return e.err.Error() }
func (e *queryError) Unwrap() error { return e.err }

type chip struct {
	Name  string
	Count int
	Href  string
	On    bool
}

type pageData struct {
	Title          string
	StateFile      string
	ReadAt         time.Time
	RefreshSeconds int
	Error          string
	Wave           *Wave
	Chips          []chip
	BatchChips     []chip // with a list: one per batch
	Detail         *Detail
}

func (s *Server) data(title string) pageData {
	return pageData{Title: title, StateFile: s.o.StateFile, ReadAt: s.o.Now(), RefreshSeconds: int(max(1, s.o.Refresh.Round(time.Second)/time.Second))}
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	d := s.data("exmigrate status")
	wave, c, err := s.selected(r.Context(), r.URL.Query())
	status := http.StatusOK
	if err != nil {
		status = s.failed(err)
		d.Error = err.Error()
		if wave == nil {
			s.render(w, status, d)
			return
		}
		// A bad filter shows the whole wave under the message.
	}
	d.Wave, d.ReadAt = wave, wave.ReadAt
	d.Title = fmt.Sprintf("exmigrate status: %s", wave.Totals.StateSummary())
	// The chips count the whole wave, not the filtered rows.
	all, _ := s.wave(r.Context())
	counts := all.Totals.States
	keep := url.Values{}
	for _, b := range c.Batches {
		keep.Add("batch", b)
	}
	for _, m := range c.Mailboxes {
		keep.Add("mailbox", m)
	}
	d.Chips = append(d.Chips, chip{Name: "all", Count: all.Totals.Mailboxes, Href: "?" + keep.Encode(), On: len(c.Only) == 0})
	for _, st := range selection.States() {
		q := url.Values{"only": {string(st)}}
		for k, v := range keep {
			q[k] = v
		}
		d.Chips = append(d.Chips, chip{Name: string(st), Count: counts[st], Href: "?" + q.Encode(),
			On: len(c.Only) == 1 && c.Only[0] == st})
	}
	if s.o.List != nil {
		cands := make([]selection.Candidate, len(all.Jobs))
		perBatch := map[string]int{}
		for i, j := range all.Jobs {
			cands[i] = selection.Candidate{Address: j.Mailbox, Batch: j.Batch}
			perBatch[strings.ToLower(j.Batch)]++
		}
		for _, b := range selection.Batches(cands) {
			q := url.Values{"batch": {b}}
			for _, o := range c.Only {
				q.Add("only", string(o))
			}
			d.BatchChips = append(d.BatchChips, chip{Name: b, Count: perBatch[strings.ToLower(b)], Href: "?" + q.Encode(),
				On: len(c.Batches) == 1 && strings.EqualFold(c.Batches[0], b)})
		}
	}
	s.render(w, status, d)
}

func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	d := s.data("exmigrate status")
	det, status, err := s.loadDetail(r)
	if err != nil {
		d.Error = err.Error()
		s.render(w, status, d)
		return
	}
	d.Detail, d.Title = det, "exmigrate status: "+det.Mailbox
	d.ReadAt = s.o.Now()
	s.render(w, http.StatusOK, d)
}

func (s *Server) loadDetail(r *http.Request) (*Detail, int, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, http.StatusNotFound, fmt.Errorf("%q is not a job number: open a mailbox from the overview", r.PathValue("id"))
	}
	det, err := LoadDetail(r.Context(), s.o.Store, id, s.o.Now())
	if err != nil {
		return nil, s.failed(err), err
	}
	for _, e := range s.o.List {
		if strings.EqualFold(e.Address, det.Mailbox) {
			det.Batch = e.Batch
		}
	}
	return det, http.StatusOK, nil
}

// failed logs a failed read and picks its HTTP status.
func (s *Server) failed(err error) int {
	if errors.Is(err, ErrNoJob) {
		return http.StatusNotFound
	}
	var qe *queryError
	if errors.As(err, &qe) {
		return http.StatusBadRequest
	}
	s.o.Log.Error("reading the state file failed", "state", s.o.StateFile, "err", err)
	return http.StatusInternalServerError
}

func (s *Server) render(w http.ResponseWriter, status int, d pageData) {
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, "page", d); err != nil {
		s.o.Log.Error("rendering the status page failed", "err", err)
		http.Error(w, "the page could not be rendered; see the serve log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes()) //nolint:errcheck // the client went away
}

func (s *Server) apiWave(w http.ResponseWriter, r *http.Request) {
	wave, _, err := s.selected(r.Context(), r.URL.Query())
	if err != nil {
		writeJSON(w, s.failed(err), map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, wave)
}

func (s *Server) apiDetail(w http.ResponseWriter, r *http.Request) {
	det, status, err := s.loadDetail(r)
	if err != nil {
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, det)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) //nolint:errcheck // the client went away
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	types := map[string]string{"status.css": "text/css; charset=utf-8", "status.js": "text/javascript; charset=utf-8"}
	ct, ok := types[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(b) //nolint:errcheck // the client went away
}
