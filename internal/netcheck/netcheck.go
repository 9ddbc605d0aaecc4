// Package netcheck holds the network checks the configuration validators
// of the EWS client, the Graph client and the config file share.
package netcheck

import "net/netip"

// IsLoopback reports whether host names this machine's loopback interface,
// where plain http is acceptable (test servers, the lab): exactly
// "localhost", an IPv4 address in 127.0.0.0/8, or the IPv6 address ::1.
//
// host is a bare host as url.URL.Hostname returns it: without brackets or a
// port ("[::1]" and "127.0.0.1:80" are not loopback hosts). The check is
// deliberately strict: "LOCALHOST", "localhost.", zoned addresses
// ("::1%lo") and IPv4-mapped IPv6 addresses ("::ffff:127.0.0.1") are not
// accepted; such a URL has to use https.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false
	}
	return (ip.Is4() && ip.IsLoopback()) || ip == netip.IPv6Loopback()
}
