package engine

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// TestReadAllSized reads what io.ReadAll reads, whatever the size hint
// says, through readers that return little at a time.
func TestReadAllSized(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 6600, 40000, 600 << 10} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 13)
		}
		for _, hint := range []int64{-1, 0, 100, int64(n), int64(n) * 4, 1 << 30} {
			got, err := readAllSized(iotest.HalfReader(bytes.NewReader(data)), hint)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, hint %d: got %d bytes, %v", n, hint, len(got), err)
			}
		}
	}
	want := errors.New("connection reset")
	if _, err := readAllSized(iotest.ErrReader(want), 100); !errors.Is(err, want) {
		t.Errorf("a read error: %v, want it returned", err)
	}
}
