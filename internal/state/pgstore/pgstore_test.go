package pgstore

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
	"github.com/exmigrate/exmigrate/internal/state/storetest"
)

// The tests that need a server get it from pgtest (EXMIGRATE_TEST_POSTGRES_URL).
var (
	serverURL   = pgtest.ServerURL
	newDatabase = pgtest.NewDatabase
)

func open(t testing.TB, dbURL string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dbURL, secret.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) (engine.Store, func(*testing.T) engine.Store) {
		dbURL := newDatabase(t)
		return open(t, dbURL), func(t *testing.T) engine.Store { return open(t, dbURL) }
	})
}

func TestQueryConformance(t *testing.T) {
	serverURL(t)
	storetest.RunQueries(t, func(t *testing.T) (storetest.QueryStore, func(*testing.T) storetest.QueryStore) {
		dbURL := newDatabase(t)
		return open(t, dbURL), func(t *testing.T) storetest.QueryStore {
			t.Helper()
			r, err := OpenReadOnly(context.Background(), dbURL, secret.Secret{})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	})
}

// TestSchema: a new database gets the schema; reopening changes nothing;
// workers starting at once on a new database all open it.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	dbURL := newDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := Open(ctx, dbURL, secret.Secret{})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("opening a new database at once: %v", err)
		}
	}
	s := open(t, dbURL)
	defer s.Close()
	var version, rows int
	if err := s.pool.QueryRow(ctx, `SELECT max(version), count(*) FROM exmigrate_schema`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion || rows != 1 {
		t.Errorf("exmigrate_schema: version %d in %d rows, want %d in 1", version, rows, SchemaVersion)
	}
}

// TestOpenRefuses: every database Open must not write to, and every bad
// URL, fails with the problem and its fix.
func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	server := serverURL(t)
	cases := []struct {
		name    string
		prepare func(t *testing.T) string // returns the URL to open
		is      error
		says    []string
	}{
		{"a newer schema", func(t *testing.T) string {
			u := newDatabase(t)
			s := open(t, u)
			defer s.Close()
			if _, err := s.pool.Exec(ctx, `UPDATE exmigrate_schema SET version = 99`); err != nil {
				t.Fatal(err)
			}
			return u
		}, ErrNewerSchema, []string{"schema version 99", "upgrade exmigrate"}},
		{"another program's database", func(t *testing.T) string {
			u := newDatabase(t)
			conn, err := pgx.Connect(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `CREATE TABLE customers (id int); CREATE TABLE orders (id int)`); err != nil {
				t.Fatal(err)
			}
			return u
		}, ErrForeignDatabase, []string{"customers, orders", "database of its own"}},
		{"a database that does not exist", func(t *testing.T) string {
			u, _ := url.Parse(server)
			u.Path = "/exmigrate_test_missing"
			return u.String()
		}, nil, []string{"does not exist", "createdb"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := c.prepare(t)
			s, err := Open(ctx, u, secret.Secret{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
			for _, w := range c.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
		})
	}
	// A refused database is left as it was.
	u := newDatabase(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE customers (id int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, u, secret.Secret{}); err == nil {
		t.Fatal("Open took another program's database")
	}
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil || tables != 1 {
		t.Errorf("after a refused Open the database holds %d tables (%v), want only customers", tables, err)
	}
}

// TestOpenBadURL needs no server: the URL is refused before any connection.
func TestOpenBadURL(t *testing.T) {
	cases := []struct {
		name, url string
		says      []string
		hides     string
	}{
		{"empty", "", []string{"postgres://user@host:5432/database"}, ""},
		{"another scheme", "mysql://root@db/exmigrate", []string{"not a postgres:// URL"}, ""},
		{"no database", "postgres://exm@db.contoso.com:5432", []string{"names no database", "/exmigrate"}, ""},
		{"no database, slash", "postgres://exm:hunter2@db.contoso.com:5432/", []string{"names no database"}, "hunter2"},
		{"bad port", "postgres://exm:hunter2@db.contoso.com:notaport/exm", []string{"not a URL", "invalid port"}, "hunter2"},
		{"bad sslmode", "postgres://exm:hunter2@db.contoso.com/exm?sslmode=bogus", []string{"is not valid", "sslmode is invalid", "exm:REDACTED@"}, "hunter2"},
		{"bad timeout", "postgres://exm@db.contoso.com/exm?connect_timeout=soon", []string{"is not valid", "connect_timeout"}, ""},
		// The host forgotten: url.Parse reads the password as the port.
		{"host forgotten", "postgres://exm:hunter2/exm", []string{"not a URL", "invalid port"}, "hunter2"},
		{"opaque", "postgres:hunter2", []string{"names no database"}, "hunter2"},
		{"pasted password", "hunter2", []string{"not a postgres:// URL"}, "hunter2"},
		{"password in the query", "postgres://exm@db.contoso.com/exm?password=hunter2&sslmode=bogus", []string{"is not valid", "exm@db.contoso.com/exm"}, "hunter2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), c.url, secret.Secret{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range c.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
			if c.hides != "" && strings.Contains(err.Error(), c.hides) {
				t.Errorf("err = %v shows the password", err)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://exm@db:5432/exm", "postgres://exm@db:5432/exm?sslmode=verify-full"},
		{"postgres://exm@db/exm?sslmode=disable", "postgres://exm@db/exm?sslmode=disable"},
		{"postgresql://exm@db/exm?sslmode=require&application_name=w1", "postgresql://exm@db/exm?sslmode=require&application_name=w1"},
		{"postgres://exm@/exm?host=/run/postgresql", "postgres://exm@/exm?host=%2Frun%2Fpostgresql&sslmode=verify-full"},
	}
	for _, c := range cases {
		got, err := checkURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("checkURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// fakeServer answers one connection the way a PostgreSQL server answers a
// login it refuses, so that the messages are tested without a server
// configured to refuse: respond gets the startup message.
func fakeServer(t *testing.T, respond func(b *pgproto3.Backend)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				b := pgproto3.NewBackend(conn, conn)
				for {
					msg, err := b.ReceiveStartupMessage()
					if err != nil {
						return
					}
					if _, ok := msg.(*pgproto3.SSLRequest); ok {
						conn.Write([]byte("N")) // no TLS here
						continue
					}
					break
				}
				respond(b)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestConnectProblems(t *testing.T) {
	wrongPassword := fakeServer(t, func(b *pgproto3.Backend) {
		b.Send(&pgproto3.AuthenticationCleartextPassword{})
		if err := b.Flush(); err != nil {
			return
		}
		b.SetAuthType(pgproto3.AuthTypeCleartextPassword)
		if _, err := b.Receive(); err != nil {
			return
		}
		b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "exm"`})
		b.Flush()
	})
	noHBA := fakeServer(t, func(b *pgproto3.Backend) {
		b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28000", Message: `no pg_hba.conf entry for host "10.0.0.9", user "exm"`})
		b.Flush()
	})
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	cases := []struct {
		name, url string
		says      []string
	}{
		{"wrong password", "postgres://exm@" + wrongPassword + "/exm?sslmode=disable",
			[]string{"refused the password of user exm", "EXMIGRATE_STATE_PASSWORD", "database exm on " + wrongPassword}},
		{"not in pg_hba.conf", "postgres://exm@" + noHBA + "/exm?sslmode=disable", []string{"pg_hba.conf", "user exm"}},
		{"no TLS on the server", "postgres://exm@" + wrongPassword + "/exm", []string{"does not offer TLS", "sslmode=disable"}},
		{"unreachable", "postgres://exm@" + closed + "/exm?sslmode=disable", []string{"cannot reach the server", closed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), c.url, secret.New("not-the-password"))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range c.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "not-the-password") {
				t.Errorf("err = %v shows the password", err)
			}
		})
	}
}

// TestLeaseServerClock: a lease's expiry is the server's now() plus the
// TTL, and whether it has passed is the server's comparison, whatever the
// worker's clock says.
func TestLeaseServerClock(t *testing.T) {
	ctx := context.Background()
	s := open(t, newDatabase(t))
	defer s.Close()
	job, err := s.Job(ctx, engine.JobKey{SourceAddress: "a@contoso.com", SourceLocation: "onprem", TargetAddress: "a@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := engine.NewOwner(), engine.NewOwner()
	lease, err := s.AcquireLease(ctx, job.ID, a, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var stored time.Time
	var left time.Duration
	if err := s.pool.QueryRow(ctx, `SELECT expires, expires - now() FROM leases WHERE job_id = $1`, job.ID).Scan(&stored, &left); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(lease.Expires) || left < 59*time.Minute || left > time.Hour {
		t.Errorf("lease expires %v, the server holds %v, %v from its now; want the same instant an hour on", lease.Expires, stored, left)
	}
	// The server's clock passes the expiry (as after a kill): another
	// owner takes the job although the lease says an hour to this worker.
	if _, err := s.pool.Exec(ctx, `UPDATE leases SET expires = now() - interval '1 second' WHERE job_id = $1`, job.ID); err != nil {
		t.Fatal(err)
	}
	if time.Now().After(lease.Expires) {
		t.Fatal("the worker's clock thinks the lease expired")
	}
	if _, err := s.AcquireLease(ctx, job.ID, b, time.Hour); err != nil {
		t.Errorf("a lease expired by the server's clock was not given to another owner: %v", err)
	}
	if _, err := s.RenewLease(ctx, lease, time.Hour); !errors.Is(err, engine.ErrLeaseLost) {
		t.Errorf("the first owner renews: %v, want ErrLeaseLost", err)
	}
}
