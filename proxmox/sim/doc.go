// Package sim is an in-process simulator of the Proxmox VE API
// (/api2/json) for pvesso's tests and demo: a stateful, concurrency-safe
// http.Handler that behaves like a fresh PVE 8.x or 9.x node (or a 3-node
// cluster) as far as pvesso needs it — authentication, realms, groups,
// ACL, users, tokens, permissions and the OpenID Connect login.
//
// It is an independent reading of the evidence (never of pvesso's proxmox
// client): the official API-viewer schemas in apidoc/ drive parameter
// verification and permission checks, and the behaviour behind them was
// read from Proxmox's sources (pve-access-control, pve-common,
// pve-http-server, pve-manager, proxmox-openid) as quoted in the comments.
//
// # Request pipeline
//
// Like pveproxy/pvedaemon: authentication (API token, ticket cookie or
// header, CSRF token on writes; failures are 401 with the reason on the
// status line and no body) → handler lookup (501 "Method 'GET /x' not
// implemented") → API-token restriction → permission check from the
// schema's "permissions" section (403 "Permission check failed (<path>,
// <priv>)"; note this runs before parameter verification, and root@pam
// skips it) → parameter verification (400 "Parameter verification
// failed." with an "errors" map, e.g. "property is not defined in schema
// and the schema does not allow additional properties") → handler (plain
// errors are 500, with the handler's prefix such as
// "add auth server failed: domain 'x' already exists").
//
// # Reason phrases
//
// PVE puts the error message on the HTTP status line ("HTTP/1.1 403
// Permission check failed (/access/realm, Realm.Allocate)"). net/http
// cannot set a custom reason phrase, so error responses hijack the
// connection (http.ResponseController.Hijack, which works for HTTP/1.x
// over TLS because the hijacked net.Conn is the *tls.Conn and simkit
// offers only "http/1.1" via ALPN) and write the status line, headers and
// body themselves, then close the connection — as pveproxy does for every
// status >= 400. The bytes are sent after the handler chain has returned,
// so simkit's request log has recorded the request first. Where hijacking
// is impossible (httptest.ResponseRecorder, HTTP/2) the canonical reason
// is sent; from 8.4 the body's "message" field carries the text anyway.
//
// # Versions
//
// Options.Version selects 8.0–8.4 or 9.0–9.2. 9.x uses the 9.2 schema
// (without 'audiences' before 9.2); 8.x uses the 8.0 schema plus what
// pve-access-control's changelog adds up to the minor version
// (check-connection, acr-values pattern, user field limits, password
// length, and from 8.4 groups-claim/groups-autocreate/groups-overwrite/
// query-userinfo with group mapping at login). Error bodies carry
// "message" from 8.4 (libpve-http-server-perl 5.2.0). PVE 9 verifies ID
// tokens with the discovery document's algorithms; PVE 8 with RS256 only
// (an assumption, see features).
//
// # OpenID Connect
//
// auth-url runs discovery from the node with the node's own trust store
// (Options.OIDCRoots, SetOIDCRoots), requires the exact issuer, fetches the
// JWKS, stores a node-local state (10 minutes, at most 100 pending) and
// returns the authorization URL (PKCE S256, nonce, display=page, JSON
// state). login consumes the state, repeats discovery, redeems the code
// (client secret by HTTP Basic), verifies the ID token with go-oidc/go-jose,
// optionally queries userinfo, derives "<claim>@<realm>" per
// username-claim, autocreates or requires the user, maps groups (8.4+),
// and issues a ticket; every failure is 401 "authentication failure" with
// the real reason in Log(). GET / serves a minimal login page that does
// what the PVE GUI does with location.origin as redirect URL.
//
// # Where the simulator and the reference notes differ
//
// Checked against the sources the notes cite; where the source is clear the
// simulator follows it, otherwise the notes:
//
//   - 401 reason phrases. proxmox-api.md §1/§2.3 words the reason of a bad
//     ticket or token as "Authentication failed!". pve-manager's
//     PVE/HTTPServer.pm auth_handler dies with "No ticket", or with what
//     PVE::AccessControl::verify_ticket / verify_token / check_user_enabled /
//     verify_csrf_prevention_token die with ("permission denied - invalid PVE
//     ticket", "invalid token value!", "no such token 'x' for user 'u@r'",
//     "user 'u@r' is disabled", "Permission denied - invalid csrf token"),
//     and pve-http-server's AnyEvent.pm puts that text on the status line
//     (HTTP::Response->new(HTTP_UNAUTHORIZED, $err)); the simulator does the
//     same. Clients must treat every 401 alike.
//   - 401 bodies. libpve-http-server-perl 5.2.0 (PVE 8.4) "add[s the] error
//     message directly into the HTTP body if it's empty"; the form of that
//     body is not in the evidence. ASSUMPTION: answers of the
//     authentication stage keep an empty body on every version.
//   - GET /access/domains/{realm} returns client-key (proxmox-api.md §4, by
//     code reading of Domains.pm `read`, which returns the stored section).
//   - POST /access/domains with realm=pam or pve: Domains.pm checks "domain
//     '%s' already exists" before "unable to use reserved name" (quoted in
//     proxmox-api.md §4), and parse_config always re-adds pam and pve, so the
//     first message is the one PVE gives.
//   - POST /access/users does not check that the user's realm exists
//     (proxmox-api.md §5; User.pm create_user only verifies the user id).
//   - Group names: 8.4.x–9.0.x accept '(', '?', '^', ':' and ')' too
//     (bug 7102, see features.groupNameLeak), for pve-groupid parameters and
//     for the entries of an OpenID groups claim.
//   - ID-token algorithms: authentik-proxmox-guide.md §2 says RS256 only for
//     every version; proxmox-openid-realm.md §4 (openidconnect commit a52ef56,
//     2.5.0, and 4.x) says the discovery document's list. The simulator
//     follows the latter for PVE 9 (openidconnect 4) and keeps RS256 only for
//     PVE 8 (the crate minor there is unverified).
//
// Test hooks: Kit (request log, latency, faults), Realms/Groups/Users/ACL
// snapshots, Log, PendingOpenIDStates, CreateToken, RootToken,
// SetUserPassword, SetTOTP, TOTPCode, Endpoints.
package sim
