package netcheck

import "testing"

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"127.0.0.2", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"0:0:0:0:0:0:0:1", true},

		{"", false},
		{"LOCALHOST", false},
		{"Localhost", false},
		{"localhost.", false},
		{"localhost.contoso.com", false},
		{"mail.contoso.com", false},
		{"128.0.0.1", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"::2", false},
		{"127.1", false},
		{"127.000.000.001", false},
		{"::ffff:127.0.0.1", false},
		{"::1%lo", false},
		{"[::1]", false},
		{"127.0.0.1:8080", false},
		{"localhost:8080", false},
		{"[::1]:8080", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.host); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
