package sim_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/simkit"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

func TestFreshInstall(t *testing.T) {
	t.Parallel()
	s := pvesim.New(pvesim.Options{})
	if got := len(s.Users()); got != 1 || s.Users()[0].UserID != "root@pam" || !s.Users()[0].Enable {
		t.Fatalf("users = %+v, want only root@pam", s.Users())
	}
	if len(s.Groups()) != 0 || len(s.ACL()) != 0 {
		t.Fatalf("groups %v acl %v, want none", s.Groups(), s.ACL())
	}
	rs := s.Realms()
	if len(rs) != 2 || rs[0].Realm != "pam" || rs[0].Type != "pam" || rs[1].Realm != "pve" || rs[1].Type != "pve" {
		t.Fatalf("realms = %+v", rs)
	}
	if s.RootPassword() == "" || s.RootPassword() == pvesim.New(pvesim.Options{}).RootPassword() {
		t.Fatal("root password must be random per installation")
	}

	p := startPVE(t, pvesim.Options{})
	// the realm list needs no authentication (login box)
	r := p.ok(p.do("GET", "/access/domains", nil, noAuth))
	l := r.dataList()
	if len(l) != 2 || l[0]["realm"] != "pam" || l[0]["comment"] != "Linux PAM standard authentication" ||
		l[1]["realm"] != "pve" || l[1]["comment"] != "Proxmox VE authentication server" {
		t.Fatalf("domains = %v", l)
	}
	roles := map[string]string{}
	for _, e := range p.ok(p.do("GET", "/access/roles", nil, token(p.root))).dataList() {
		roles[e["roleid"].(string)] = e["privs"].(string)
	}
	for _, want := range []string{"Administrator", "NoAccess", "PVEAdmin", "PVEAuditor", "PVEUserAdmin", "PVEVMAdmin"} {
		if _, ok := roles[want]; !ok {
			t.Errorf("role %s missing", want)
		}
	}
	has := func(role, priv string) bool {
		for _, p := range strings.Split(roles[role], ",") {
			if p == priv {
				return true
			}
		}
		return false
	}
	if !has("Administrator", "Realm.Allocate") || has("PVEAdmin", "Realm.Allocate") || !has("PVEAdmin", "Realm.AllocateUser") ||
		has("PVEAdmin", "Permissions.Modify") || roles["NoAccess"] != "" || !has("PVEUserAdmin", "User.Modify") {
		t.Errorf("role privileges wrong: %v", roles)
	}
	if g := p.ok(p.do("GET", "/access/groups", nil, token(p.root))).dataList(); len(g) != 0 {
		t.Errorf("groups = %v", g)
	}
	if a := p.ok(p.do("GET", "/access/acl", nil, token(p.root))).dataList(); len(a) != 0 {
		t.Errorf("acl = %v", a)
	}
}

func TestVersionAndRelease(t *testing.T) {
	t.Parallel()
	for _, v := range []struct{ ver, release string }{{"8.4.14", "8.4"}, {"9.2.0", "9.2"}, {"8.0.4", "8.0"}} {
		p := startPVE(t, pvesim.Options{Version: v.ver})
		d := p.ok(p.do("GET", "/version", nil, token(p.root))).dataMap()
		if d["version"] != v.ver || d["release"] != v.release || len(d["repoid"].(string)) < 8 {
			t.Errorf("%s: /version = %v", v.ver, d)
		}
	}
	for _, bad := range []string{"7.4.3", "10.0", "x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%q) did not panic", bad)
				}
			}()
			pvesim.New(pvesim.Options{Version: bad})
		}()
	}
}

func TestStandaloneStatusAndNodes(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	st := p.ok(p.do("GET", "/cluster/status", nil, token(p.root))).dataList()
	if len(st) != 1 || st[0]["type"] != "node" || st[0]["name"] != "pve1" || st[0]["ip"] != "127.0.0.1" ||
		st[0]["local"] != float64(1) || st[0]["nodeid"] != float64(0) {
		t.Fatalf("cluster/status = %v", st)
	}
	nodes := p.ok(p.do("GET", "/nodes", nil, token(p.root))).dataList()
	if len(nodes) != 1 || nodes[0]["node"] != "pve1" || nodes[0]["status"] != "online" ||
		nodes[0]["ssl_fingerprint"] != p.s.Fingerprint() {
		t.Fatalf("nodes = %v (fingerprint %s)", nodes, p.s.Fingerprint())
	}
	// the fingerprint is that of the certificate the node serves
	conn, err := tls.Dial("tcp", strings.TrimPrefix(p.base, "https://"), &tls.Config{RootCAs: p.s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := fingerprint(conn.ConnectionState().PeerCertificates[0].Raw); got != p.s.Fingerprint() {
		t.Fatalf("served cert %s, reported %s", got, p.s.Fingerprint())
	}
}

func TestClusterOfThree(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{Nodes: 3, Version: "9.2.0"})
	st := p.ok(p.do("GET", "/cluster/status", nil, token(p.root))).dataList()
	if len(st) != 4 || st[0]["type"] != "cluster" || st[0]["nodes"] != float64(3) || st[0]["quorate"] != float64(1) {
		t.Fatalf("cluster/status = %v", st)
	}
	for i, e := range st[1:] {
		wantName, wantIP := []string{"pve1", "pve2", "pve3"}[i], []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}[i]
		if e["name"] != wantName || e["ip"] != wantIP || e["nodeid"] != float64(i+1) || e["online"] != float64(1) {
			t.Errorf("node entry %d = %v", i, e)
		}
		if wantLocal := i == 0; (e["local"] == float64(1)) != wantLocal {
			t.Errorf("node %s local = %v", wantName, e["local"])
		}
	}
	// node 2 answers with itself as the local node
	st2 := p.ok(p.doURL(p.s.NodeURL(2), "GET", "/cluster/status", nil, token(p.root))).dataList()
	if st2[2]["local"] != float64(1) || st2[1]["local"] != float64(0) {
		t.Fatalf("node 2 view = %v", st2)
	}
	nodes := p.ok(p.do("GET", "/nodes", nil, token(p.root))).dataList()
	fps := map[string]bool{}
	for i, n := range nodes {
		if n["ssl_fingerprint"] != p.s.NodeFingerprint(i+1) {
			t.Errorf("node %v fingerprint %v, want %s", n["node"], n["ssl_fingerprint"], p.s.NodeFingerprint(i+1))
		}
		fps[n["ssl_fingerprint"].(string)] = true
	}
	if len(fps) != 3 {
		t.Fatalf("each node needs its own certificate: %v", nodes)
	}
	// the cluster name comes with a ticket of a user with Sys.Audit on /
	d := p.ok(p.do("POST", "/access/ticket", vals("username", "root@pam", "password", p.s.RootPassword()), noAuth)).dataMap()
	if d["clustername"] != "pvesso-sim" {
		t.Fatalf("clustername = %v", d["clustername"])
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	p.want(p.do("GET", "/access/nonsense", nil, token(p.root)), 501, "Method 'GET /access/nonsense' not implemented")
	p.want(p.do("PUT", "/version", nil, token(p.root)), 501, "Method 'PUT /version' not implemented")
	// authentication comes first
	p.want(p.do("GET", "/access/nonsense", nil, noAuth), 401, "No ticket")
}

func TestErrorShapePerVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ver     string
		message bool
	}{{"8.3.4", false}, {"8.4.14", true}, {"9.2.0", true}} {
		p := startPVE(t, pvesim.Options{Version: tc.ver})
		r := p.do("POST", "/access/groups", vals("groupid", "bad group"), token(p.root))
		p.want(r, 400, "Parameter verification failed.")
		if r.Data != nil || r.Body == nil {
			t.Errorf("%s: body %s, want data null", tc.ver, r.Raw)
		}
		if r.HasMsg != tc.message {
			t.Errorf("%s: message present = %v, want %v (%s)", tc.ver, r.HasMsg, tc.message, r.Raw)
		}
		if tc.message && r.Message != "Parameter verification failed.\n" {
			t.Errorf("%s: message = %q", tc.ver, r.Message)
		}
		if !r.Close {
			t.Errorf("%s: errors close the connection like pveproxy", tc.ver)
		}
	}
}

func TestReasonPhraseOverTLSRawStatusLine(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	conn, err := tls.Dial("tcp", strings.TrimPrefix(p.base, "https://"), &tls.Config{RootCAs: p.s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = conn.Write([]byte("GET /api2/json/access/domains/nope HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=" + p.root + "\r\n\r\n"))
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	if line != "HTTP/1.1 500 domain 'nope' does not exist" {
		t.Fatalf("status line %q", line)
	}
}

func TestKitCountsWritesAndInjectsFaults(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	k := p.s.Kit()
	k.ResetLog()
	p.ok(p.do("GET", "/access/groups", nil, token(p.root)))
	p.ok(p.do("POST", "/access/groups", vals("groupid", "admin"), token(p.root)))
	p.do("POST", "/access/groups", vals("groupid", "admin"), token(p.root))
	if k.Writes() != 2 || len(k.Requests()) != 3 {
		t.Fatalf("writes %d requests %d", k.Writes(), len(k.Requests()))
	}
	k.InjectFault(simkit.Fault{Method: "POST", Path: "/api2/json/access/groups", Nth: 1, Kind: simkit.FaultStatus, Status: 503, Body: `{"data":null}`})
	if r := p.do("POST", "/access/groups", vals("groupid", "ops"), token(p.root)); r.Status != 503 {
		t.Fatalf("fault not injected: %d", r.Status)
	}
	if len(p.s.Groups()) != 1 {
		t.Fatal("a faulted request must not reach the handler")
	}
	p.ok(p.do("POST", "/access/groups", vals("groupid", "ops"), token(p.root)))
	k.InjectFault(simkit.Fault{Path: "/api2/json/version", Kind: simkit.FaultReset})
	req, _ := http.NewRequest("GET", p.base+"/api2/json/version", nil)
	token(p.root)(req)
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.s.CertPool()}, DisableKeepAlives: true}}
	if _, err := fresh.Do(req); err == nil {
		t.Fatal("reset fault: want a transport error")
	}
	k.SetLatency(50 * time.Millisecond)
	start := time.Now()
	p.ok(p.do("GET", "/version", nil, token(p.root)))
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("latency not applied")
	}
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}
