// Package pgtest gives tests a PostgreSQL database of their own.
//
// The server is found through EXMIGRATE_TEST_POSTGRES_URL: a URL whose user
// may create databases, e.g. postgres://postgres@/postgres?host=/tmp/pg (a
// unix socket) or postgres://exm@127.0.0.1:5432/postgres?sslmode=disable.
// Without it the tests that need a server skip, unless
// EXMIGRATE_REQUIRE_POSTGRES=1 (CI), where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The environment variables the tests read.
const (
	EnvURL     = "EXMIGRATE_TEST_POSTGRES_URL"
	EnvRequire = "EXMIGRATE_REQUIRE_POSTGRES"
)

// ServerURL returns the server's URL, or skips the test (fails it when a
// server is required).
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s=1 but %s is not set: export the URL of a PostgreSQL server whose user may create databases", EnvRequire, EnvURL)
		}
		t.Skipf("no PostgreSQL to test against: export %s (see the README's testing section)", EnvURL)
	}
	return u
}

// NewDatabase creates an empty database for one test, drops it when the
// test ends (with any connection still open to it), and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	name := "exmigrate_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("creating a test database (the user of %s must be allowed to: CREATEDB): %v", EnvURL, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String()
}
