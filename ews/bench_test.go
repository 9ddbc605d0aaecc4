package ews_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// The benchmark and the heap test run the fake in a child process, so that
// what they measure (allocations, heap) is the client's alone.

const fakeEnv = "EXMIGRATE_EWS_FAKE"

const (
	benchItems = 10000
	bigSize    = 150 << 20
)

// TestFakeServerProcess is the child: it seeds a fake, prints its address
// and serves until its stdin closes. It does nothing in a normal run.
func TestFakeServerProcess(t *testing.T) {
	mode := os.Getenv(fakeEnv)
	if mode == "" {
		t.Skip("helper process for BenchmarkReadMailbox and TestHugeItemHeap")
	}
	opts := []ewstest.Option{ewstest.WithPrefixStyle(ewstest.StylePrefixed)}
	if m, lat, ok := strings.Cut(mode, "@"); ok {
		// "mode@20ms": the fake answers every request that much later.
		d, err := time.ParseDuration(lat)
		if err != nil {
			t.Fatal(err)
		}
		mode = m
		opts = append(opts, ewstest.WithLatency(d))
	}
	srv := ewstest.NewServer(opts...)
	srv.AddAccount(testDomain, testUser, testPassword, true)
	mb := srv.AddMailbox(testMailbox)
	var folder *ewstest.FolderFixture
	switch mode {
	case "mime2k", "inbox2k":
		folder = mb.Folder("Bench")
		if mode == "inbox2k" {
			folder = mb.Root("inbox") // where exchangelib_read.py reads
		}
		for i := range readMIMEItems {
			folder.AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("Message %d", i), readMIMESize), IsRead: i%3 == 0})
		}
	case "10k":
		folder = mb.Folder("Bench")
		for i := range benchItems {
			folder.AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("Message %d", i), 2000+(i%7)*500), IsRead: i%3 == 0})
		}
	case "upload":
		folder = mb.Root("inbox")
	case "big":
		folder = mb.Folder("Big")
		folder.AddItem(ewstest.Item{Size: bigSize, Subject: "150 MB",
			Open: func() (io.ReadCloser, error) { return io.NopCloser(newBigMIME(bigSize)), nil }})
	case "bigbatch":
		folder = mb.Folder("Big")
		folder.AddItem(ewstest.Item{MIME: mime("before", 5000), Received: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
		folder.AddItem(ewstest.Item{Size: bigSize, Subject: "150 MB", Received: time.Date(2025, 1, 1, 0, 1, 0, 0, time.UTC),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(newBigMIME(bigSize)), nil }})
		folder.AddItem(ewstest.Item{MIME: mime("after", 5000), Received: time.Date(2025, 1, 1, 0, 2, 0, 0, time.UTC)})
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	url, ca := srv.NewTLSServer()
	defer srv.Close()
	fmt.Printf("FAKE %s %s %s\n", url, base64.StdEncoding.EncodeToString(ca), folder.ID())
	io.Copy(io.Discard, os.Stdin)
}

// newBigMIME generates a deterministic message of exactly size bytes.
func newBigMIME(size int64) io.Reader {
	head := "From: a@contoso.com\r\nSubject: 150 MB\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	return io.LimitReader(io.MultiReader(strings.NewReader(head), &repeat{s: line}), size)
}

type repeat struct {
	s string
	i int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.i:])
		n += c
		r.i = (r.i + c) % len(r.s)
	}
	return n, nil
}

// startFake launches the child and returns a client for it and the folder id.
func startFake(tb testing.TB, mode string) (*ews.Client, string) {
	tb.Helper()
	c, folderID, _, _ := startFakeURL(tb, mode)
	return c, folderID
}

// startFakeURL is startFake that also answers the fake's URL and CA, for
// a second client (exchangelib in BenchmarkReadVsExchangelib).
func startFakeURL(tb testing.TB, mode string) (*ews.Client, string, string, []byte) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeServerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), fakeEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "FAKE" {
			ca, _ := base64.StdEncoding.DecodeString(f[2])
			go io.Copy(io.Discard, stdout)
			c, err := ews.NewClient(ews.Config{URL: f[1], Username: testDomain + `\` + testUser, Password: testPassword,
				CABundlePEM: ca, Impersonation: true, MaxConcurrency: 4})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(c.Close)
			return c, f[3], f[1], ca
		}
	}
	tb.Fatalf("fake server process did not start: %v", sc.Err())
	return nil, "", "", nil
}

// BenchmarkReadMailbox reads a 10,000-item mailbox: FindItem pages, then
// GetItem MIME for every item with 4 workers, one item per GetItem
// (OpenMIME) or 50 per GetItem (ReadMIME).
func BenchmarkReadMailbox(b *testing.B) {
	c, folderID := startFake(b, "10k")
	box := c.Mailbox(testMailbox)
	ctx := context.Background()
	single := func(ids []string, n *atomic.Int64) error {
		for _, id := range ids {
			rc, err := box.OpenMIME(ctx, id)
			if err != nil {
				return err
			}
			k, err := io.Copy(io.Discard, rc)
			rc.Close()
			n.Add(k)
			if err != nil {
				return err
			}
		}
		return nil
	}
	batched := func(ids []string, n *atomic.Int64) error {
		return box.ReadMIME(ctx, ids, func(_ string, r io.Reader, err error) error {
			if err != nil {
				return err
			}
			k, err := io.Copy(io.Discard, r)
			n.Add(k)
			return err
		})
	}
	for _, v := range []struct {
		name  string
		read  func([]string, *atomic.Int64) error
		chunk int
	}{{"OpenMIME", single, 1}, {"ReadMIME-batch50", batched, ews.MaxMIMEBatch}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var bytesRead atomic.Int64
			b.ResetTimer()
			for b.Loop() {
				chunks := make(chan []string, 16)
				errc := make(chan error, 5)
				go func() {
					defer close(chunks)
					var cur []string
					err := box.Items(ctx, folderID, func(it mailbox.Item) error {
						if cur = append(cur, it.ID); len(cur) == v.chunk {
							chunks <- cur
							cur = nil
						}
						return nil
					})
					if len(cur) > 0 {
						chunks <- cur
					}
					errc <- err
				}()
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for ids := range chunks {
							if err := v.read(ids, &bytesRead); err != nil {
								errc <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				close(errc)
				for err := range errc {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			items := float64(benchItems * b.N)
			b.ReportMetric(items/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/items, "B/item")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/items, "allocs/item")
			b.ReportMetric(float64(bytesRead.Load())/items, "MIME-B/item")
		})
	}
}

const (
	readMIMEItems = 2000
	readMIMESize  = 6600 // about the median message of a mailbox (issue 16)
)

// BenchmarkReadMIME reads the MIME of 2,000 items of about 6.6 KB with 4
// workers (the engine's default per mailbox), one item per GetItem
// (OpenMIME, as the engine did before issue 16) or ReadBatch of
// MaxReadBatch items per GetItem, against a fake that answers at once or
// 20 ms later (a WAN's round trip). The listing is done before the timer.
//
//	go test ./ews -run '^$' -bench BenchmarkReadMIME -benchmem
func BenchmarkReadMIME(b *testing.B) {
	for _, lat := range []string{"0ms", "20ms"} {
		b.Run("latency="+lat, func(b *testing.B) {
			c, folderID := startFake(b, "mime2k@"+lat)
			box := c.Mailbox(testMailbox)
			ctx := context.Background()
			var items []mailbox.Item
			if err := box.Items(ctx, folderID, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
				b.Fatal(err)
			}
			if len(items) != readMIMEItems {
				b.Fatalf("listed %d items", len(items))
			}
			single := func(batch []mailbox.Item, n *atomic.Int64) error {
				for _, it := range batch {
					rc, err := box.OpenItem(ctx, it.ID, mailbox.FormatMIME)
					if err != nil {
						return err
					}
					k, err := io.Copy(io.Discard, rc)
					rc.Close()
					n.Add(k)
					if err != nil {
						return err
					}
				}
				return nil
			}
			batched := func(batch []mailbox.Item, n *atomic.Int64) error {
				return box.ReadBatch(ctx, batch, mailbox.FormatMIME, func(_ mailbox.Item, r io.Reader, err error) error {
					if err != nil {
						return err
					}
					k, err := io.Copy(io.Discard, r)
					n.Add(k)
					return err
				})
			}
			for _, v := range []struct {
				name  string
				read  func([]mailbox.Item, *atomic.Int64) error
				chunk int
			}{{"GetItem-per-item", single, 1}, {"ReadBatch", batched, ews.MaxReadBatch}} {
				b.Run(v.name, func(b *testing.B) {
					b.ReportAllocs()
					var bytesRead atomic.Int64
					for b.Loop() {
						chunks := make(chan []mailbox.Item, len(items))
						for i := 0; i < len(items); i += v.chunk {
							chunks <- items[i:min(i+v.chunk, len(items))]
						}
						close(chunks)
						errc := make(chan error, 4)
						var wg sync.WaitGroup
						for range 4 {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for batch := range chunks {
									if err := v.read(batch, &bytesRead); err != nil {
										errc <- err
										return
									}
								}
							}()
						}
						wg.Wait()
						close(errc)
						for err := range errc {
							b.Fatal(err)
						}
					}
					n := float64(readMIMEItems * b.N)
					b.ReportMetric(n/b.Elapsed().Seconds(), "items/s")
					b.ReportMetric(float64(bytesRead.Load())/n, "MIME-B/item")
				})
			}
		})
	}
}

// BenchmarkCreateMIME writes 500 messages of about 6.6 KB with 4
// workers, one CreateItem per message (CreateItem) or CreateBatch of
// MaxCreateBatch per request, against a fake that answers at once or
// 20 ms later.
//
//	go test ./ews -run '^$' -bench BenchmarkCreateMIME -benchmem
func BenchmarkCreateMIME(b *testing.B) {
	const n = 500
	data := mime("Created", readMIMESize)
	for _, lat := range []string{"0ms", "20ms"} {
		b.Run("latency="+lat, func(b *testing.B) {
			c, folderID := startFake(b, "upload@"+lat)
			box := c.Mailbox(testMailbox)
			ctx := context.Background()
			payload := func(i int) mailbox.Payload {
				return mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: fmt.Sprint(i), Format: mailbox.FormatMIME,
					Body: bytes.NewReader(data), Size: int64(len(data))}
			}
			single := func(from, to int) error {
				for i := from; i < to; i++ {
					if _, err := box.CreateItem(ctx, folderID, payload(i)); err != nil {
						return err
					}
				}
				return nil
			}
			batched := func(from, to int) error {
				ps := make([]mailbox.Payload, 0, to-from)
				for i := from; i < to; i++ {
					ps = append(ps, payload(i))
				}
				res, err := box.CreateBatch(ctx, folderID, ps)
				if err != nil {
					return err
				}
				for _, r := range res {
					if r.Err != nil {
						return r.Err
					}
				}
				return nil
			}
			for _, v := range []struct {
				name  string
				write func(from, to int) error
				chunk int
			}{{"CreateItem-per-item", single, 1}, {"CreateBatch", batched, ews.MaxCreateBatch}} {
				b.Run(v.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						chunks := make(chan [2]int, n)
						for i := 0; i < n; i += v.chunk {
							chunks <- [2]int{i, min(i+v.chunk, n)}
						}
						close(chunks)
						errc := make(chan error, 4)
						var wg sync.WaitGroup
						for range 4 {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for ch := range chunks {
									if err := v.write(ch[0], ch[1]); err != nil {
										errc <- err
										return
									}
								}
							}()
						}
						wg.Wait()
						close(errc)
						for err := range errc {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
				})
			}
		})
	}
}

// heapPeak samples the live heap until stop is closed.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// TestLargeUploadHeap writes a 40 MB message of unknown size: the client
// streams it through a temp file with bounded memory, and the fake refuses
// it as Exchange would (over the message size limit), which the client
// reports as a permanent rejection.
func TestLargeUploadHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("40 MB upload skipped in -short mode")
	}
	c, folderID := startFake(t, "upload")
	runtime.GC()
	stop := make(chan struct{})
	peak := heapPeak(stop)
	_, err := c.Mailbox(testMailbox).CreateMessage(context.Background(), folderID, mailbox.Message{
		SourceID: "huge", MIME: newBigMIME(40 << 20), Size: -1})
	close(stop)
	p := <-peak
	if !errors.Is(err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(err) {
		t.Errorf("err = %v, want a permanent ErrorMessageSizeExceeded", err)
	}
	t.Logf("40 MB upload: peak heap %.1f MB", float64(p)/(1<<20))
	if p > 64<<20 {
		t.Errorf("peak heap %d bytes while uploading, over 64 MB", p)
	}
}

// TestHugeItemHeap fetches one 150 MB item and checks that the heap stays
// under 64 MB while it streams.
func TestHugeItemHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("150 MB transfer skipped in -short mode")
	}
	c, folderID := startFake(t, "big")
	box := c.Mailbox(testMailbox)
	ctx := context.Background()
	var id string
	if err := box.Items(ctx, folderID, func(it mailbox.Item) error { id = it.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	stop := make(chan struct{})
	peakc := heapPeak(stop)
	start := time.Now()
	rc, err := box.OpenMIME(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	close(stop)
	peak := <-peakc
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	io.Copy(want, newBigMIME(bigSize))
	if n != bigSize || string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("got %d bytes (hash match %v), want %d", n, string(h.Sum(nil)) == string(want.Sum(nil)), bigSize)
	}
	const limit = 64 << 20
	t.Logf("150 MB item streamed in %v, peak heap %.1f MB", time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
	if peak > limit {
		t.Errorf("peak heap %d bytes, over the 64 MB limit", peak)
	}
}

// TestReadBatchHugeItemHeap reads a batch of a small item, a 150 MB item
// and another small item with one ReadBatch: each reaches fn whole and
// the heap stays under 64 MB, since one item's base64 streams at a time.
func TestReadBatchHugeItemHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("150 MB transfer skipped in -short mode")
	}
	c, folderID := startFake(t, "bigbatch")
	box := c.Mailbox(testMailbox)
	ctx := context.Background()
	var items []mailbox.Item
	if err := box.Items(ctx, folderID, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil || len(items) != 3 {
		t.Fatalf("listed %d items: %v", len(items), err)
	}
	for i := range items {
		items[i].SizeBytes = 0 // one request, whatever the listing says
	}
	runtime.GC()
	stop := make(chan struct{})
	peakc := heapPeak(stop)
	var sizes []int64
	var bigHash []byte
	err := box.ReadBatch(ctx, items, mailbox.FormatMIME, func(_ mailbox.Item, r io.Reader, err error) error {
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, r)
		sizes = append(sizes, n)
		if n == bigSize {
			bigHash = h.Sum(nil)
		}
		return err
	})
	close(stop)
	peak := <-peakc
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	io.Copy(want, newBigMIME(bigSize))
	if len(sizes) != 3 || sizes[1] != bigSize || string(bigHash) != string(want.Sum(nil)) {
		t.Fatalf("fn read %v bytes, want a small item, %d bytes (its hash matching) and a small item", sizes, bigSize)
	}
	t.Logf("batch with a 150 MB item: peak heap %.1f MB", float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("peak heap %d bytes, over 64 MB", peak)
	}
}
