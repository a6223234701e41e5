// Package e2e holds end-to-end tests between the two simulators: the
// OpenID Connect authorization-code flow from the Proxmox VE simulator
// (auth-url) through the Authentik simulator (authorize, token, userinfo)
// back to the Proxmox VE simulator (login). The tests speak raw HTTP to both
// simulators; they use neither the authentik nor the proxmox client.
package e2e
