package sim

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Tickets and CSRF tokens have the shapes of PVE::Ticket:
//   PVE:<data>:<8 hex digits timestamp>::<base64 signature>
//   <8 hex digits timestamp>:<base64 HMAC>
// The simulator signs tickets with Ed25519 (PVE: RSA); clients treat the
// signature as opaque. Lifetime 2 h, 5 min clock-skew allowance
// (PVE::AccessControl $ticket_lifetime, $auth_graceperiod).

const (
	ticketLifetime = 7200
	authGrace      = 300
)

var (
	reTicket      = regexp.MustCompile(`^(PVE:\S+)::([^:\s]+)$`)
	reTicketPlain = regexp.MustCompile(`^PVE:(?:(\S+):)?([A-Z0-9]{8})$`)
	reCSRF        = regexp.MustCompile(`^([A-Z0-9]{8}):(\S+)$`)
)

func (s *Server) assembleTicket(data, aad string) string {
	plain := fmt.Sprintf("PVE:%s:%08X", data, s.now().Unix())
	full := plain
	if aad != "" {
		full += ":" + aad
	}
	sig := ed25519.Sign(s.ticketKey, []byte(full))
	return plain + "::" + base64.StdEncoding.EncodeToString(sig)
}

// verifyTicket returns the ticket's data (the user id, or "!tfa!<challenge>").
func (s *Server) verifyTicket(t, aad string) (string, bool) {
	m := reTicket.FindStringSubmatch(t)
	if m == nil {
		return "", false
	}
	full := m[1]
	if aad != "" {
		full += ":" + aad
	}
	sig, err := base64.StdEncoding.DecodeString(m[2])
	if err != nil || !ed25519.Verify(s.ticketKey.Public().(ed25519.PublicKey), []byte(full), sig) {
		return "", false
	}
	pm := reTicketPlain.FindStringSubmatch(m[1])
	if pm == nil || pm[1] == "" {
		return "", false
	}
	ts, err := strconv.ParseInt(pm[2], 16, 64)
	if err != nil {
		return "", false
	}
	age := s.now().Unix() - ts
	if age <= -authGrace || age >= ticketLifetime {
		return "", false
	}
	return pm[1], true
}

func (s *Server) assembleCSRF(username string) string {
	ts := fmt.Sprintf("%08X", s.now().Unix())
	return ts + ":" + s.csrfSig(ts, username)
}

func (s *Server) csrfSig(ts, username string) string {
	mac := hmac.New(sha256.New, s.csrfKey)
	mac.Write([]byte(ts + ":" + username))
	return base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

func (s *Server) verifyCSRF(username, token string) bool {
	m := reCSRF.FindStringSubmatch(token)
	if m == nil {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(s.csrfSig(m[1], username)), []byte(m[2])) != 1 {
		return false
	}
	ts, err := strconv.ParseInt(m[1], 16, 64)
	if err != nil {
		return false
	}
	age := s.now().Unix() - ts
	return age > -authGrace && age < ticketLifetime
}

// verifyToken is PVE::AccessControl::verify_token; the die messages become
// the reason phrase of the 401.
func (s *Server) verifyToken(spec string, now int64) (string, *apiError) {
	i := strings.LastIndex(spec, "=")
	if i < 0 {
		return "", die("no tokenid specified")
	}
	id, value := spec[:i], spec[i+1:]
	uid, tid, ok := splitTokenID(id)
	if !ok {
		return "", die("'%s' is not a valid token ID - not able to split into user and token parts", id)
	}
	if e := s.st.checkUserEnabled(uid, now); e != nil {
		return "", e
	}
	u := s.st.users[uid]
	if u.tokens == nil || u.tokens[tid] == nil {
		return "", die("no such token '%s' for user '%s'", tid, uid)
	}
	t := u.tokens[tid]
	if t.expire != 0 && t.expire < now {
		return "", die("token '%s' access expired", tid)
	}
	if subtle.ConstantTimeCompare([]byte(t.secret), []byte(value)) != 1 {
		return "", die("invalid token value!")
	}
	return id, nil
}

// totpCode computes the RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) for the
// time step t.
func totpCode(secret string, step int64) (string, bool) {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
	if err != nil {
		return "", false
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := (binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff) % 1000000
	return fmt.Sprintf("%06d", code), true
}

// TOTPCode returns the current TOTP code for a base32 secret at the
// simulator's clock (a test helper for the two-step ticket login).
func (s *Server) TOTPCode(secret string) string {
	c, _ := totpCode(strings.ToUpper(secret), s.now().Unix()/30)
	return c
}

// verifyTOTP accepts the code of the current, previous or next 30 s step.
// ASSUMPTION: proxmox-tfa's exact window was not read; one step either way.
func (s *Server) verifyTOTP(secret, code string) bool {
	step := s.now().Unix() / 30
	for d := int64(-1); d <= 1; d++ {
		if c, ok := totpCode(secret, step+d); ok && subtle.ConstantTimeCompare([]byte(c), []byte(code)) == 1 {
			return true
		}
	}
	return false
}

// --- /access/ticket ------------------------------------------------------

func hTicketGet(c *call) (any, *apiError) { return nil, nil }

// hTicketCreate is create_ticket (API2/AccessControl.pm): every failure is
// 401 "authentication failure"; the reason goes to the node log.
func hTicketCreate(c *call) (any, *apiError) {
	s := c.s
	username := c.params["username"]
	if realm, ok := c.params["realm"]; ok && realm != "" {
		username += "@" + realm
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, e := s.createTicket(c, username)
	if e != nil {
		s.syslogLocked("authentication failure; rhost=%s user=%s msg=%s", clientIP(c.r), username, e.msg)
		return nil, raise(http.StatusUnauthorized, "authentication failure")
	}
	if _, tfa := res["NeedTFA"]; !tfa {
		res["cap"] = s.st.computeCap(res["username"].(string))
	}
	if len(s.nodes) > 1 && s.st.check(res["username"].(string), "/", []string{"Sys.Audit"}) == nil {
		res["clustername"] = s.opts.ClusterName
	}
	s.syslogLocked("successful auth for user '%s'", res["username"])
	return res, nil
}

func (s *Server) createTicket(c *call, username string) (map[string]any, *apiError) {
	now := s.now().Unix()
	if e := s.st.checkUserEnabled(username, now); e != nil {
		return nil, e
	}
	password := c.params["password"]
	otp, hasOTP := c.params["otp"]
	challenge, hasChallenge := c.params["tfa-challenge"]
	if path, ok := c.params["path"]; ok && c.params["privs"] != "" {
		// verify mode (verify_auth)
		np := normalizePath(path)
		if np == "" {
			return nil, die("invalid path - %s", path)
		}
		if data, ok := s.verifyTicket(password, ""); !ok || data != username {
			if e := s.authenticateUser(username, password, otp, hasOTP, "", false); e != nil {
				return nil, e
			}
		}
		privs := splitList(c.params["privs"])
		if len(privs) == 0 || s.st.check(username, np, privs) != nil {
			return nil, die("no permission (%s, %s)", path, c.params["privs"])
		}
		return map[string]any{"username": username}, nil
	}
	if hasOTP && hasChallenge {
		return nil, die("TFA response should be in 'password', not 'otp' when 'tfa-challenge' is set")
	}
	needTFA := false
	var tfaInfo string
	if !hasChallenge {
		if data, ok := s.verifyTicket(password, ""); ok && (data == "root@pam" || data == username) {
			// ticket renewal (root@pam may create tickets for others)
			goto issue
		}
	}
	if e := s.authenticateUser(username, password, otp, hasOTP, challenge, hasChallenge); e != nil {
		if e.msg == "need tfa\n" {
			needTFA = true
			tfaInfo = `{"totp":true}`
		} else {
			return nil, e
		}
	}
issue:
	res := map[string]any{"username": username, "CSRFPreventionToken": s.assembleCSRF(username)}
	if needTFA {
		// The challenge JSON goes into the ticket with ':' escaped as %3A
		// (proxmox-api.md §2.2); the user id is bound as additional data.
		res["ticket"] = s.assembleTicket("!tfa!"+strings.ReplaceAll(tfaInfo, ":", "%3A"), username)
		res["NeedTFA"] = 1
	} else {
		res["ticket"] = s.assembleTicket(username, "")
	}
	return res, nil
}

// authenticateUser is PVE::AccessControl::authenticate_user with the new
// TFA flow. It returns the sentinel "need tfa" when the first factor
// passed and a TOTP challenge is pending.
func (s *Server) authenticateUser(username, password, otp string, hasOTP bool, challenge string, hasChallenge bool) *apiError {
	_, realm, msg := verifyUsername(username)
	if msg != "" {
		return die("%s", msg)
	}
	if e := s.st.checkUserEnabled(username, s.now().Unix()); e != nil {
		return e
	}
	rc := s.st.realms[realm]
	if rc == nil {
		return die("auth domain '%s' does not exist", realm)
	}
	u := s.st.users[username]
	if hasChallenge {
		data, ok := s.verifyTicket(challenge, username)
		if !ok {
			return raise(http.StatusUnauthorized, "permission denied - invalid PVE ticket")
		}
		if !strings.HasPrefix(data, "!tfa!") {
			return die("bad ticket")
		}
		if u.totp == "" {
			return die("no such challenge")
		}
		typ, resp, ok := strings.Cut(password, ":")
		if !ok {
			return die("bad otp response")
		}
		if typ != "totp" {
			return die("no such challenge")
		}
		if !s.verifyTOTP(u.totp, resp) {
			return die("totp failed")
		}
		return nil
	}
	switch rc.typ {
	case "pam", "pve":
		// ASSUMPTION: PAM knows only users whose password was set through the
		// simulator (root@pam: RootPassword); there is no system user base.
		want := u.password
		if username == "root@pam" {
			want = s.rootPass
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 {
			if rc.typ == "pve" {
				return die("invalid credentials")
			}
			return die("Authentication failure")
		}
	case "openid":
		return die("OpenID realm does not allow password verification.")
	default:
		return die("%s authentication is not simulated", rc.typ)
	}
	if u.totp != "" {
		if hasOTP {
			// a legacy one-step response is verified, but the challenge
			// still comes back (authenticate_2nd_new_do)
			typ, resp, ok := strings.Cut(otp, ":")
			if !ok {
				return die("bad otp response")
			}
			if typ != "totp" || !s.verifyTOTP(u.totp, resp) {
				return die("totp failed")
			}
		}
		return &apiError{status: http.StatusUnauthorized, msg: "need tfa\n"}
	}
	return nil
}

// --- helpers -------------------------------------------------------------

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randomString(n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newUUID returns a random (version 4) UUID, the shape of PVE token secrets.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
