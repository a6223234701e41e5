package simkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// NewSelfSigned generates a self-signed ECDSA P-256 certificate valid for
// the given DNS names and IP literals (default: localhost, 127.0.0.1, ::1).
func NewSelfSigned(names ...string) (tls.Certificate, *x509.Certificate, error) {
	if len(names) == 0 {
		names = []string{"localhost", "127.0.0.1", "::1"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"pvesso simulator"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, cert, nil
}

// TLSServer serves a handler over TLS on a loopback address.
type TLSServer struct {
	srv  *http.Server
	ln   net.Listener
	cert *x509.Certificate
	done chan struct{}
}

// IsLoopback reports whether addr ("host:port") is on 127.0.0.0/8 or ::1.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StartTLS serves h over TLS on addr, which must be a loopback address
// ("127.0.0.1:0" picks a free port). The certificate is self-signed for
// names (default: localhost, 127.0.0.1, ::1) plus the listen host.
func StartTLS(h http.Handler, addr string, names ...string) (*TLSServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if !IsLoopback(addr) {
		return nil, fmt.Errorf("simulators listen on loopback only, not %q", addr)
	}
	host, _, _ := net.SplitHostPort(addr)
	if len(names) == 0 {
		names = []string{"localhost", "127.0.0.1", "::1"}
	}
	if !contains(names, host) {
		names = append(names, host)
	}
	cert, leaf, err := NewSelfSigned(names...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &TLSServer{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
			ErrorLog:          nil,
		},
		ln:   ln,
		cert: leaf,
		done: make(chan struct{}),
	}
	// Quiet the server's own log: handshake errors from clients that refuse
	// the self-signed certificate are expected in tests.
	s.srv.ErrorLog = discardLogger()
	go func() {
		defer close(s.done)
		if err := s.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	return s, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// URL is the server's base URL, e.g. https://127.0.0.1:43121.
func (s *TLSServer) URL() string { return "https://" + s.ln.Addr().String() }

// Addr is the listen address (host:port).
func (s *TLSServer) Addr() string { return s.ln.Addr().String() }

// Certificate is the server's leaf certificate.
func (s *TLSServer) Certificate() *x509.Certificate { return s.cert }

// Fingerprint is the SHA-256 fingerprint of the certificate, "AB:CD:...".
func (s *TLSServer) Fingerprint() string {
	sum := sha256.Sum256(s.cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// CertPool is a pool holding only this server's certificate.
func (s *TLSServer) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.cert)
	return p
}

// CertPEM is the certificate in PEM form.
func (s *TLSServer) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

// Close stops the server and waits for it to finish.
func (s *TLSServer) Close() {
	_ = s.srv.Close()
	<-s.done
}
