package graphtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// endpointCert is a CA and a server certificate it signed for the loopback
// names the fake answers on: 127.0.0.1 and ::1 for Graph and Entra,
// localhost for upload URLs (which live on another host than Graph, see
// uploadHost). Clients trust the CA, as they would the lab's, so that a
// strict verifier (OpenSSL's, in Python) sees an ordinary chain.
func endpointCert() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "graphtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("server certificate: %w", err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, caPEM, nil
}

// uploadHost is the host:port of the upload URLs for a Graph request: the
// listener the request came in on, named by the other loopback name
// (127.0.0.1 <-> localhost). Real upload URLs are on outlook.office.com,
// another host than graph.microsoft.com, and a client must not send its
// Graph token there (learn.microsoft.com/graph/outlook-large-attachments:
// "Do not specify an Authorization request header"). Serving them on
// another name of the same listener keeps the lab's single listener, and
// the port of the listener (not of a proxy in front) keeps them reachable.
func uploadHost(r *http.Request) string {
	hostport := r.Host
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		hostport = a.String()
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if reqHost, _, err := net.SplitHostPort(r.Host); err == nil {
		host = reqHost
	} else if r.Host != "" && !strings.Contains(r.Host, ":") {
		host = r.Host
	}
	other := "localhost"
	if strings.EqualFold(host, "localhost") {
		other = "127.0.0.1"
	}
	if port == "" {
		return other
	}
	return net.JoinHostPort(other, port)
}
