// Package simkit is the plumbing shared by pvesso's in-process server
// simulators: a TLS listener with a generated self-signed certificate, a
// request log, injected latency and injected faults. It knows nothing about
// Authentik or Proxmox.
package simkit

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one entry of the request log.
type Request struct {
	Method   string
	Host     string
	Path     string
	RawQuery string
	Time     time.Time
	Status   int
}

// IsWrite reports whether the request could change server state.
func (r Request) IsWrite() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// FaultKind says how an injected fault fails a request.
type FaultKind int

const (
	// FaultStatus answers with Status and Body without reaching the handler.
	FaultStatus FaultKind = iota
	// FaultReset closes the connection without an answer.
	FaultReset
	// FaultHang holds the request until the client gives up (its context
	// ends) or MaxHang passes, then drops the connection.
	FaultHang
)

// MaxHang bounds a FaultHang so that no test can hang forever.
const MaxHang = 30 * time.Second

// Fault fails the Nth request (1-based, counted among the requests that
// match Method and the Path prefix) once.
type Fault struct {
	Method string // "" matches any method
	Path   string // prefix; "" matches any path
	Nth    int    // 0 is treated as 1
	Kind   FaultKind
	Status int
	Body   string

	seen  int
	fired bool
}

func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	return strings.HasPrefix(r.URL.Path, f.Path)
}

// Kit holds the request log, latency and faults of one simulator.
// It is safe for concurrent use.
type Kit struct {
	mu      sync.Mutex
	log     []Request
	gen     int // bumped by ResetLog so in-flight requests don't touch new entries
	latency time.Duration
	faults  []*Fault
	now     func() time.Time
}

// NewKit returns an empty Kit.
func NewKit() *Kit { return &Kit{now: time.Now} }

// SetLatency delays every request by d before it is handled.
func (k *Kit) SetLatency(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.latency = d
}

// InjectFault arms f. Faults fire once each, in the order injected.
func (k *Kit) InjectFault(f Fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f.Nth <= 0 {
		f.Nth = 1
	}
	k.faults = append(k.faults, &f)
}

// PendingFaults reports how many injected faults have not fired yet.
func (k *Kit) PendingFaults() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, f := range k.faults {
		if !f.fired {
			n++
		}
	}
	return n
}

// Requests returns a copy of the request log.
func (k *Kit) Requests() []Request {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Request(nil), k.log...)
}

// Writes counts the logged requests that could change state.
func (k *Kit) Writes() int {
	n := 0
	for _, r := range k.Requests() {
		if r.IsWrite() {
			n++
		}
	}
	return n
}

// ResetLog empties the request log.
func (k *Kit) ResetLog() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.log = nil
	k.gen++
}

// fault returns the fault that fires for r, if any, and counts matches.
func (k *Kit) fault(r *http.Request) *Fault {
	k.mu.Lock()
	defer k.mu.Unlock()
	var hit *Fault
	for _, f := range k.faults {
		if f.fired || !f.matches(r) {
			continue
		}
		f.seen++
		if hit == nil && f.seen == f.Nth {
			f.fired = true
			hit = f
		}
	}
	return hit
}

type statusRecorder struct {
	http.ResponseWriter
	status   int
	onStatus func(int) // logs a status set by RecordStatus at once
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Hijack).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Wrap returns h with logging, latency and faults applied.
func (k *Kit) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		lat := k.latency
		k.mu.Unlock()
		// The entry goes into the log before anything is answered, so a
		// client that saw the answer (or a reset) always finds its request
		// logged; the status is filled in when known.
		k.mu.Lock()
		idx, gen := len(k.log), k.gen
		k.log = append(k.log, Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Time: k.now()})
		k.mu.Unlock()
		setStatus := func(code int) {
			k.mu.Lock()
			if gen == k.gen && idx < len(k.log) {
				k.log[idx].Status = code
			}
			k.mu.Unlock()
		}
		if lat > 0 {
			t := time.NewTimer(lat)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f := k.fault(r); f != nil {
			switch f.Kind {
			case FaultStatus:
				setStatus(f.Status)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(f.Status)
				_, _ = w.Write([]byte(f.Body))
				return
			case FaultHang:
				t := time.NewTimer(MaxHang)
				select {
				case <-t.C:
				case <-r.Context().Done():
				}
				t.Stop()
				fallthrough
			case FaultReset:
				setStatus(-1)
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.Close()
					return
				}
				panic(http.ErrAbortHandler)
			}
		}
		rec := &statusRecorder{ResponseWriter: w, onStatus: setStatus}
		h.ServeHTTP(rec, r)
		setStatus(rec.status)
	})
}

// RecordStatus records code as the answer's status when a handler writes its
// own response on a hijacked connection (the Proxmox simulator does, to set
// a custom reason phrase).
func (s *statusRecorder) RecordStatus(code int) {
	if s.status == 0 {
		s.status = code
		if s.onStatus != nil {
			s.onStatus(code)
		}
	}
}
