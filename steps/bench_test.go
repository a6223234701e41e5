package steps_test

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/proxmox"
	"github.com/pvesso/pvesso/steps"
)

// recorder is a RoundTripper that notes when pvesso's own requests start.
type recorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	starts []time.Time
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.starts = append(r.starts, time.Now())
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// waves counts dependent stages: requests of one stage start within a few
// milliseconds (TLS handshakes, scheduling), a request that depends on an
// answer starts at least one latency after its stage began. A gap of more
// than half a latency between two consecutive starts opens a new wave.
func waves(starts []time.Time, latency time.Duration) int {
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	n := 0
	var prev time.Time
	for _, s := range starts {
		if n == 0 || s.Sub(prev) > latency/2 {
			n++
		}
		prev = s
	}
	return n
}

// recordingClients builds the real clients over transports that record
// pvesso's own request starts.
func recordingClients(b *testing.B, e *env) (*steps.Clients, []*recorder) {
	b.Helper()
	akTr, err := tlstrust.NewTransport(tlstrust.Config{Roots: e.ak.CertPool()})
	if err != nil {
		b.Fatal(err)
	}
	pveTr, err := tlstrust.NewTransport(tlstrust.Config{Roots: e.pve.CertPool()})
	if err != nil {
		b.Fatal(err)
	}
	akRec, pveRec := &recorder{base: akTr}, &recorder{base: pveTr}
	akHTTP := &http.Client{Transport: akRec, Timeout: 10 * time.Second}
	pveHTTP := &http.Client{Transport: pveRec, Timeout: 10 * time.Second}
	ak, err := authentik.New(e.ak.URL(), e.ak.AdminToken(), authentik.WithHTTPClient(akHTTP))
	if err != nil {
		b.Fatal(err)
	}
	auth, err := proxmox.TokenAuth(e.pve.RootToken())
	if err != nil {
		b.Fatal(err)
	}
	pve, err := proxmox.New(e.pve.URL(), auth, proxmox.WithHTTPClient(pveHTTP))
	if err != nil {
		b.Fatal(err)
	}
	return &steps.Clients{Authentik: ak, Proxmox: pve, AuthentikHTTP: akHTTP}, []*recorder{akRec, pveRec}
}

// BenchmarkFreshSetup measures a fresh `pvesso setup --yes` (checks, plan,
// apply, issuer check and auth-url) against both simulators with 20ms of
// injected latency per request. Metrics:
//
//   - requests/op, writes/op: as seen by the simulators (the Proxmox node's
//     own discovery and JWKS fetches during auth-url included);
//
//   - depth: wall time ÷ latency, the whole critical path: pvesso's own
//     dependent stages, plus the node's discovery → JWKS chain inside
//     auth-url (two more latencies that no client can avoid: Proxmox reads
//     both when asked for the login link), plus TLS handshakes and
//     processing (about one latency at 20ms);
//
//   - stages: dependent waves of pvesso's own requests. The limit is
//     4 (reads → provider ∥ realm ∥ group → application ∥ ACL ∥ users →
//     issuer check ∥ auth-url). The authentik client sends its provider,
//     key pair and scope mapping reads together with the version detection
//     and decodes them once the version is known, so the reads are one
//     wave.
//
//     go test -run '^$' -bench BenchmarkFreshSetup -benchtime 20x ./steps/
func BenchmarkFreshSetup(b *testing.B) {
	const latency = 20 * time.Millisecond
	var reqs, writes, stages int
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, envOpts{latency: latency})
		in := e.in
		in.Users = []string{"alice", "bob"}
		clients, recs := recordingClients(b, e)
		eng := steps.New(clients, in)
		b.StartTimer()
		start := time.Now()
		p, err := eng.Plan(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		r, err := eng.Apply(context.Background(), p, steps.ApplyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		b.StopTimer()
		if r.AuthURL == "" {
			b.Fatal("no auth url")
		}
		reqs += len(e.ak.Kit().Requests()) + len(e.pve.Kit().Requests())
		writes += e.writes()
		var all []time.Time
		for _, rc := range recs {
			rc.mu.Lock()
			all = append(all, rc.starts...)
			rc.mu.Unlock()
		}
		stages += waves(all, latency)
		e.ak.Close()
		e.pve.Close()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(reqs)/n, "requests/op")
	b.ReportMetric(float64(writes)/n, "writes/op")
	b.ReportMetric(float64(wall)/n/float64(latency), "depth")
	b.ReportMetric(float64(stages)/n, "stages")
}
