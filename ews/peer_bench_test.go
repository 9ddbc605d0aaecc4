package ews_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/internal/thirdparty"
	"github.com/exmigrate/exmigrate/mailbox"
)

// BenchmarkReadVsExchangelib reads the MIME of the same 2,000 messages of
// about 6.6 KB from the same fake (in a process of its own, over TLS and
// NTLM, answering at once or 20 ms later) with exmigrate's EWS client and
// with exchangelib (Debian's python3-exchangelib, Account.fetch: GetItem in
// chunks of 100), both with 4 connections and both timed from the listing
// to the last item. It reports each one's items per second and the ratio.
//
//	go test ./ews -run '^$' -bench BenchmarkReadVsExchangelib -benchtime 1x
func BenchmarkReadVsExchangelib(b *testing.B) {
	py := thirdparty.Python(b, "exchangelib", "python3-exchangelib")
	for _, lat := range []string{"0ms", "20ms"} {
		b.Run("latency="+lat, func(b *testing.B) {
			c, folderID, url, ca := startFakeURL(b, "inbox2k@"+lat)
			box := c.Mailbox(testMailbox)
			caFile := filepath.Join(b.TempDir(), "ca.pem")
			if err := os.WriteFile(caFile, ca, 0o600); err != nil {
				b.Fatal(err)
			}
			var ours, peer time.Duration
			for range b.N {
				t0 := time.Now()
				n, err := readAllBatched(context.Background(), box, folderID)
				if err != nil || n != readMIMEItems {
					b.Fatalf("exmigrate read %d items: %v", n, err)
				}
				ours += time.Since(t0)

				cmd := exec.Command(py, filepath.Join("ewstest", "testdata", "clients", "exchangelib_read.py"), url, caFile, testMailbox, testDomain+`\`+testUser, "4")
				cmd.Env = append(os.Environ(), "EXM_EWS_PASSWORD="+testPassword, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("exchangelib: %v\n%s", err, stderr.String())
				}
				var res struct {
					Items   int     `json:"items"`
					Seconds float64 `json:"seconds"`
				}
				if err := json.Unmarshal(out, &res); err != nil || res.Items != readMIMEItems {
					b.Fatalf("exchangelib read %d items: %v\n%s", res.Items, err, out)
				}
				peer += time.Duration(res.Seconds * float64(time.Second))
			}
			items := float64(readMIMEItems * b.N)
			b.ReportMetric(items/ours.Seconds(), "exmigrate-items/s")
			b.ReportMetric(items/peer.Seconds(), "exchangelib-items/s")
			b.ReportMetric(peer.Seconds()/ours.Seconds(), "x-exchangelib")
		})
	}
}

// readAllBatched lists a folder and reads every item's MIME the way the engine
// does: batches of ews.MaxReadBatch, 4 at once.
func readAllBatched(ctx context.Context, box *ews.Mailbox, folderID string) (int, error) {
	var items []mailbox.Item
	if err := box.Items(ctx, folderID, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		return 0, err
	}
	chunks := make(chan []mailbox.Item, len(items)/ews.MaxReadBatch+1)
	for i := 0; i < len(items); i += ews.MaxReadBatch {
		chunks <- items[i:min(i+ews.MaxReadBatch, len(items))]
	}
	close(chunks)
	var mu sync.Mutex
	n := 0
	var first error
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range chunks {
				err := box.ReadBatch(ctx, batch, mailbox.FormatMIME, func(_ mailbox.Item, r io.Reader, err error) error {
					if err != nil {
						return err
					}
					_, err = io.Copy(io.Discard, r)
					mu.Lock()
					n++
					mu.Unlock()
					return err
				})
				if err != nil {
					mu.Lock()
					first = fmt.Errorf("read a batch: %w", err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return n, first
}
