package reports

import (
	"bytes"
	"testing"
)

// countWriter counts bytes without keeping them, so that the benchmark
// measures rendering rather than buffer growth.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func benchmarkRender(b *testing.B, format Format, n int) {
	a := syntheticAssessment(n)
	opts := goldenOptions()
	var size int64
	b.ReportAllocs()
	for b.Loop() {
		var cw countWriter
		if err := Render(&cw, format, a, opts); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size), "bytes/report")
}

// BenchmarkRenderHTML5000 is the size the HTML report is built for: 5,000
// mailboxes with findings, folder statistics and copy results.
func BenchmarkRenderHTML5000(b *testing.B)     { benchmarkRender(b, FormatHTML, 5000) }
func BenchmarkRenderCSV5000(b *testing.B)      { benchmarkRender(b, FormatCSV, 5000) }
func BenchmarkRenderMarkdown5000(b *testing.B) { benchmarkRender(b, FormatMarkdown, 5000) }
func BenchmarkRenderJSON5000(b *testing.B)     { benchmarkRender(b, FormatJSON, 5000) }

func BenchmarkReadAssessment5000(b *testing.B) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatJSON, syntheticAssessment(5000), Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadAssessment(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
