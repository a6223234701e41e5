package steps

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// discovery is what the OIDC discovery document and the JWKS say.
type discovery struct {
	Issuer   string
	Mismatch bool // Issuer differs from the one asked for
	Algs     []string
	JWKSURI  string
	Keys     []jwkInfo
	JWKSRead bool
}

type jwkInfo struct {
	KID, Alg, Kty string
	RSA           bool
	Thumb256      string // lower hex of the certificate's SHA-256, "" if unknown
}

// discover fetches the discovery document of the application with go-oidc
// (which checks the issuer byte for byte) and the JWKS. The JWKS is read
// concurrently at its predictable address (<issuer>jwks/) and only re-read
// when the document names another one, so the check costs one round trip.
func discover(ctx context.Context, rd *reader, expected string) (*discovery, error) {
	if rd.akHTTP == nil {
		d, err := rd.ak.Discovery(ctx, rd.in.AppSlug)
		if err != nil {
			return nil, err
		}
		return &discovery{Issuer: d.Issuer, Mismatch: d.Issuer != expected, Algs: d.IDTokenSigningAlgValuesSupported, JWKSURI: d.JWKSURI}, nil
	}
	predictedJWKS := rd.ak.IssuerURL(rd.in.AppSlug) + "jwks/"
	var (
		wg      sync.WaitGroup
		keys    []jwkInfo
		jwksErr error
	)
	wg.Go(func() { keys, jwksErr = fetchJWKS(ctx, rd, predictedJWKS) })
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, rd.akHTTP), expected)
	wg.Wait()
	var mm *oidc.IssuerMismatchError
	if errors.As(err, &mm) {
		return &discovery{Issuer: mm.Discovered, Mismatch: true}, nil
	}
	if err != nil {
		return nil, err
	}
	var claims struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&claims); err != nil {
		return nil, err
	}
	d := &discovery{Issuer: claims.Issuer, Algs: claims.Algs, JWKSURI: claims.JWKSURI}
	if claims.JWKSURI != predictedJWKS && claims.JWKSURI != "" {
		keys, jwksErr = fetchJWKS(ctx, rd, claims.JWKSURI)
	}
	if jwksErr != nil {
		return d, fmt.Errorf("reading the JWKS %s: %w", claims.JWKSURI, jwksErr)
	}
	d.Keys, d.JWKSRead = keys, true
	return d, nil
}

func fetchJWKS(ctx context.Context, rd *reader, u string) ([]jwkInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := rd.akHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWK set: %w", err)
	}
	out := make([]jwkInfo, 0, len(set.Keys))
	for _, raw := range set.Keys {
		var k struct {
			KID  string   `json:"kid"`
			Alg  string   `json:"alg"`
			Kty  string   `json:"kty"`
			T256 string   `json:"x5t#S256"`
			X5C  []string `json:"x5c"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("JWK: %w", err)
		}
		info := jwkInfo{KID: k.KID, Alg: k.Alg, Kty: k.Kty}
		var jk jose.JSONWebKey
		if err := jk.UnmarshalJSON(raw); err == nil {
			_, info.RSA = jk.Key.(*rsa.PublicKey)
		}
		if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.T256, "=")); err == nil && len(b) == sha256.Size {
			info.Thumb256 = hex.EncodeToString(b)
		} else if len(k.X5C) > 0 {
			if der, err := base64.StdEncoding.DecodeString(k.X5C[0]); err == nil {
				sum := sha256.Sum256(der)
				info.Thumb256 = hex.EncodeToString(sum[:])
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// httpIssuerProblem explains an issuer that is not https: authentik builds
// it from the request it sees, so behind a reverse proxy that terminates
// TLS and is not trusted it states http:// (authentik-api.md "issuer is
// built with request.build_absolute_uri"; authentik-versions.md 2026.8).
func httpIssuerProblem(iss string) string {
	return fmt.Sprintf("authentik states the issuer %q: it sees plain http behind a reverse proxy, and Proxmox needs the https issuer; "+
		"let the proxy send X-Forwarded-Proto: https and set AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS to its address, then rerun", iss)
}

// normFingerprint turns "AA:BB:.." into "aabb..".
func normFingerprint(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(s))
}

// verifyDiscovery checks the document against what Proxmox needs: the
// exact issuer, RS256 advertised and the signing key in the JWKS.
func verifyDiscovery(d *discovery, wantIssuer, keyFingerprint string) []string {
	var problems []string
	if !isHTTPS(d.Issuer) {
		return []string{httpIssuerProblem(d.Issuer)}
	}
	if d.Issuer != wantIssuer {
		problems = append(problems, fmt.Sprintf("the discovery document states the issuer %q, not %q", d.Issuer, wantIssuer))
		return problems
	}
	if !slices.Contains(d.Algs, "RS256") {
		problems = append(problems, fmt.Sprintf("id_token_signing_alg_values_supported is %v, but Proxmox verifies RS256 only", d.Algs))
	}
	if d.JWKSRead {
		found := false
		for _, k := range d.Keys {
			if !k.RSA || (k.Alg != "" && k.Alg != "RS256") {
				continue
			}
			if keyFingerprint == "" || k.Thumb256 == "" || k.Thumb256 == normFingerprint(keyFingerprint) {
				found = true
			}
		}
		if !found {
			problems = append(problems, "the JWKS does not contain the provider's RSA signing key")
		}
	}
	return problems
}
