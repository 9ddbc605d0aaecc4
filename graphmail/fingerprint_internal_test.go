package graphmail

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestFingerprintOf(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      bool
	}{
		{"", "", false},
		{base64.StdEncoding.EncodeToString([]byte{0xAB, 0x01}), "ab01", false},
		{"AAECAwQFBgcICQoLDA0ODw==", "000102030405060708090a0b0c0d0e0f", false},
		{"not base64!", "", true},
		{"AAECAwQFBgcICQoLDA0ODw", "", true}, // unpadded: Graph pads
	} {
		got, err := fingerprintOf(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("fingerprintOf(%q) = %q, %v; want %q, bad %v", c.in, got, err, c.want, c.bad)
		}
	}
}

func FuzzFingerprintOf(f *testing.F) {
	for _, s := range []string{"", "qw==", "AAECAwQFBgcICQoLDA0ODw==", "!!", "===="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := fingerprintOf(s)
		if err != nil {
			return
		}
		if s == "" {
			if fp != "" {
				t.Fatalf("empty value gave %q", fp)
			}
			return
		}
		// Lower-case hex of exactly the bytes the value holds (Go's
		// decoder skips CR and LF, as Graph's JSON never has them).
		want, _ := base64.StdEncoding.DecodeString(s)
		b, herr := hex.DecodeString(fp)
		if herr != nil || len(b) == 0 || hex.EncodeToString(want) != fp {
			t.Fatalf("%q gave %q", s, fp)
		}
	})
}
