package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The admin endpoint lets `exmigrate lab change` and `exmigrate lab writes`
// reach a running lab from another terminal: HTTPS on loopback with the
// lab's certificate, and a bearer token in a file only the lab's owner can
// read, so that another local user cannot change the organisation.
const (
	adminURLFile   = "admin-url"
	adminTokenFile = "admin-token"
	adminChanges   = "/lab/v1/changes"
	adminWrites    = "/lab/v1/writes"
	maxAdminBody   = 1 << 20
)

// Writes is what each fake has received: the successful write requests
// (creates, updates, deletes, upload chunks) since the lab started.
type Writes struct {
	EWS   int64 `json:"ews"`
	Graph int64 `json:"graph"`
}

// Writes reports the writes each fake received since the lab started.
func (l *Lab) Writes() Writes {
	return Writes{EWS: l.EWS.Writes() - l.writesAtStart.EWS, Graph: l.Graph.Writes() - l.writesAtStart.Graph}
}

// serveAdmin starts the admin endpoint and writes its URL and token into
// the lab's folder.
func (l *Lab) serveAdmin(ctx context.Context, tlsCfg *tls.Config) error {
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	token := hex.EncodeToString(tok)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+adminChanges, l.handleChanges)
	mux.HandleFunc("GET "+adminWrites, func(w http.ResponseWriter, _ *http.Request) {
		writeAdminJSON(w, http.StatusOK, l.Writes())
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			writeAdminJSON(w, http.StatusUnauthorized, adminError{Error: "no or wrong token: read it from " + adminTokenFile + " in the lab's folder"})
			return
		}
		mux.ServeHTTP(w, r)
	})
	u, err := l.serve(ctx, "", h, nil, tlsCfg)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(l.Dir, adminTokenFile), []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(l.Dir, adminURLFile), []byte(u+"\n"), 0o644)
}

type adminError struct {
	Error string `json:"error"`
}

func (l *Lab) handleChanges(w http.ResponseWriter, r *http.Request) {
	var changes []Change
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&changes); err != nil {
		writeAdminJSON(w, http.StatusBadRequest, adminError{Error: "the body is not a JSON list of changes: " + err.Error()})
		return
	}
	results := make([]ChangeResult, 0, len(changes))
	for _, c := range changes {
		res, err := l.Apply(c)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrBadChange) {
				status = http.StatusBadRequest
			}
			writeAdminJSON(w, status, struct {
				adminError
				Done []ChangeResult `json:"done"`
			}{adminError{err.Error()}, results})
			return
		}
		l.log().Info("lab: changed", "mailbox", res.Mailbox, "side", res.Side, "op", res.Op, "folder", res.Folder, "to", res.To, "done", res.Done)
		results = append(results, res)
	}
	writeAdminJSON(w, http.StatusOK, results)
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// AdminClient talks to a running lab's admin endpoint.
type AdminClient struct {
	url   string
	token string
	http  *http.Client
}

// DialAdmin returns a client for the lab serving from dir; it fails with
// the remedy when no lab runs there.
func DialAdmin(dir string) (*AdminClient, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("no lab runs in %s (no %s): start one with exmigrate lab --dir %s", dir, name, dir)
		}
		return strings.TrimSpace(string(b)), err
	}
	u, err := read(adminURLFile)
	if err != nil {
		return nil, err
	}
	tok, err := read(adminTokenFile)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", dir, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("lab %s: ca.pem holds no certificate", dir)
	}
	return &AdminClient{url: u, token: tok, http: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}, nil
}

// Change applies changes in order; on a failure it returns those done.
func (c *AdminClient) Change(ctx context.Context, changes []Change) ([]ChangeResult, error) {
	body, err := json.Marshal(changes)
	if err != nil {
		return nil, err
	}
	var out []ChangeResult
	var failed struct {
		Error string         `json:"error"`
		Done  []ChangeResult `json:"done"`
	}
	if err := c.do(ctx, http.MethodPost, adminChanges, body, &out, &failed); err != nil {
		return failed.Done, err
	}
	return out, nil
}

// Writes returns the writes each fake received since the lab started.
func (c *AdminClient) Writes(ctx context.Context) (Writes, error) {
	var w Writes
	var failed adminError
	err := c.do(ctx, http.MethodGet, adminWrites, nil, &w, &failed)
	return w, err
}

func (c *AdminClient) do(ctx context.Context, method, path string, body []byte, out, failed any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("the lab at %s does not answer (is it still running?): %w", c.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminBody))
	if err != nil {
		return fmt.Errorf("lab %s: %w", c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e adminError
		_ = json.Unmarshal(data, &e)
		_ = json.Unmarshal(data, failed)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return fmt.Errorf("%w: %s", ErrBadChange, e.Error)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("lab %s: the answer is not JSON: %w", c.url, err)
	}
	return nil
}
