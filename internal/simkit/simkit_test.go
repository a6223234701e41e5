package simkit

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func client(s *TLSServer) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12},
	}}
}

func start(t *testing.T, k *Kit) *TLSServer {
	t.Helper()
	s, err := StartTLS(k.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = io.WriteString(w, "ok")
	})), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestStartTLSRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0"} {
		if _, err := StartTLS(http.NotFoundHandler(), addr); err == nil {
			t.Errorf("StartTLS(%q) accepted a non-loopback address", addr)
		}
	}
}

func TestLogCountsWritesAndStatus(t *testing.T) {
	k := NewKit()
	s := start(t, k)
	c := client(s)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodGet} {
		req, _ := http.NewRequest(m, s.URL()+"/x?a=1", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	log := k.Requests()
	if len(log) != 4 || k.Writes() != 2 {
		t.Fatalf("log=%d writes=%d, want 4 and 2", len(log), k.Writes())
	}
	if log[1].Status != http.StatusCreated || log[0].Status != http.StatusOK || log[0].RawQuery != "a=1" {
		t.Fatalf("log entries wrong: %+v", log)
	}
	k.ResetLog()
	if len(k.Requests()) != 0 {
		t.Fatal("ResetLog kept entries")
	}
}

func TestFaultFiresOnceOnNthMatch(t *testing.T) {
	k := NewKit()
	s := start(t, k)
	c := client(s)
	k.InjectFault(Fault{Method: http.MethodPost, Path: "/api/", Nth: 2, Kind: FaultStatus, Status: 500, Body: `{"boom":1}`})
	var got []int
	for range 4 {
		resp, err := c.Post(s.URL()+"/api/thing", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	want := []int{201, 500, 201, 201}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if k.PendingFaults() != 0 {
		t.Fatal("fault still pending")
	}
}

func TestFaultResetAndHang(t *testing.T) {
	k := NewKit()
	s := start(t, k)
	c := client(s)
	k.InjectFault(Fault{Path: "/r", Kind: FaultReset})
	if resp, err := c.Get(s.URL() + "/r"); err == nil {
		resp.Body.Close()
		t.Fatal("reset fault answered")
	}
	k.InjectFault(Fault{Path: "/h", Kind: FaultHang})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/h", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("hang fault answered")
	}
	// The next request is served normally.
	resp, err := c.Get(s.URL() + "/h")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestLatency(t *testing.T) {
	k := NewKit()
	s := start(t, k)
	k.SetLatency(50 * time.Millisecond)
	t0 := time.Now()
	resp, err := client(s).Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(t0); d < 50*time.Millisecond {
		t.Fatalf("request took %v, latency not applied", d)
	}
}

func TestRecordStatusForHijackedAnswers(t *testing.T) {
	k := NewKit()
	s, err := StartTLS(k.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.(interface{ RecordStatus(int) }).RecordStatus(599)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 599 custom reason\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	})), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := client(s).Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Status != "599 custom reason" {
		t.Fatalf("status line %q", resp.Status)
	}
	if got := k.Requests()[0].Status; got != 599 {
		t.Fatalf("logged status %d, want 599", got)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("FreePort gave %d, which is not free: %v", port, err)
	}
	ln.Close()
	if _, err := FreePort("127.0.0.1", "::2"); err == nil {
		t.Fatal("FreePort accepted an address this host does not have")
	}
}
