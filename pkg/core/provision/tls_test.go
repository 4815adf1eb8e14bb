package provision

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// testCA is a throwaway CA made for one test (the test bed's WeakCA). Its
// pool is what the code under test trusts: nothing here skips
// verification.
type testCA struct {
	*testbed.WeakCA
	cert *x509.Certificate
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	ca, err := testbed.NewWeakCA()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &testCA{WeakCA: ca, cert: ca.Cert, pool: pool}
}

// issue makes a server certificate for names (DNS names or IP
// addresses); notAfter zero means the WeakCA default (90 days).
func (ca *testCA) issue(t testing.TB, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	spec := testbed.WeakCertSpec{NotAfter: notAfter}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			spec.IPs = append(spec.IPs, ip)
		} else {
			spec.DNSNames = append(spec.DNSNames, n)
		}
	}
	cert, err := ca.Issue(spec)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// serveTLS starts an HTTPS server on loopback with cert and the given
// TLS settings (nil: TLS 1.2+), closed when the test ends.
func serveTLS(t testing.TB, cert tls.Certificate, cfg *tls.Config, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// Handshakes the client refuses are expected; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cfg.Certificates = []tls.Certificate{cert}
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
