package sim_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

// Behaviour tests talk raw HTTP to the simulator (not the proxmox client).

type pve struct {
	t    *testing.T
	s    *pvesim.Server
	hc   *http.Client
	base string
	root string // root@pam token spec (privsep=0)
}

func startPVE(t *testing.T, opts pvesim.Options) *pve {
	t.Helper()
	s := pvesim.New(opts)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hc := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}},
		Timeout:   20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	t.Cleanup(hc.CloseIdleConnections)
	return &pve{t: t, s: s, hc: hc, base: s.URL(), root: s.RootToken()}
}

type auth func(*http.Request)

func token(spec string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "PVEAPIToken="+spec) }
}

func ticket(tk, csrf string) auth {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: url.QueryEscape(tk)})
		if csrf != "" {
			r.Header.Set("CSRFPreventionToken", csrf)
		}
	}
}

var noAuth auth = func(*http.Request) {}

type resp struct {
	Status  int
	Reason  string
	Raw     []byte
	Header  http.Header
	Body    map[string]any
	Data    any
	Errors  map[string]any
	Message any
	HasMsg  bool
	Close   bool // the server closed the connection
}

func (r resp) dataMap() map[string]any {
	m, _ := r.Data.(map[string]any)
	return m
}

func (r resp) dataList() []map[string]any {
	l, _ := r.Data.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// do sends a request to node 1. GET/DELETE parameters go into the query
// string, POST/PUT parameters into a form body.
func (p *pve) do(method, path string, params url.Values, a auth) resp {
	return p.doURL(p.base, method, path, params, a)
}

func (p *pve) doURL(base, method, path string, params url.Values, a auth) resp {
	p.t.Helper()
	u := base + "/api2/json" + path
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
	} else if params != nil {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if a != nil {
		a(req)
	}
	res, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{Status: res.StatusCode, Raw: raw, Header: res.Header, Close: res.Close}
	out.Reason = strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)+" ")
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			p.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
		out.Data = out.Body["data"]
		out.Errors, _ = out.Body["errors"].(map[string]any)
		out.Message, out.HasMsg = out.Body["message"]
	}
	return out
}

func (p *pve) ok(r resp) resp {
	p.t.Helper()
	if r.Status != http.StatusOK {
		p.t.Fatalf("want 200, got %d %q body %s", r.Status, r.Reason, r.Raw)
	}
	return r
}

func (p *pve) want(r resp, status int, reason string) {
	p.t.Helper()
	if r.Status != status || r.Reason != reason {
		p.t.Fatalf("want %d %q, got %d %q (body %s)", status, reason, r.Status, r.Reason, r.Raw)
	}
}

func (p *pve) wantErr(r resp, field, msg string) {
	p.t.Helper()
	p.want(r, http.StatusBadRequest, "Parameter verification failed.")
	if got, _ := r.Errors[field].(string); got != msg {
		p.t.Fatalf("errors[%q] = %q, want %q (all: %v)", field, got, msg, r.Errors)
	}
}

// login gets a ticket with a password.
func (p *pve) login(user, password string) (string, string) {
	p.t.Helper()
	r := p.ok(p.do("POST", "/access/ticket", url.Values{"username": {user}, "password": {password}}, noAuth))
	d := r.dataMap()
	return d["ticket"].(string), d["CSRFPreventionToken"].(string)
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// openidRealm creates an OpenID realm with root's token.
func (p *pve) openidRealm(id, issuer string, extra ...string) {
	p.t.Helper()
	v := vals(append([]string{"realm", id, "type", "openid", "issuer-url", issuer, "client-id", "pve-client", "client-key", testClientSecret}, extra...)...)
	p.ok(p.do("POST", "/access/domains", v, token(p.root)))
}

// doJSON sends a JSON body.
func (p *pve) doJSON(method, path, body string, a auth) resp {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+"/api2/json"+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	a(req)
	res, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{Status: res.StatusCode, Raw: raw, Reason: strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)+" ")}
	_ = json.Unmarshal(raw, &out.Body)
	out.Data = out.Body["data"]
	out.Errors, _ = out.Body["errors"].(map[string]any)
	return out
}
