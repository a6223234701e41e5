package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/steps"
)

// TestE2ERerunOptionsFollowExistingSetup: a setup made with subject mode
// user_username, another signing key and realm "sso"; the wizard runs
// again without a config file or flags (only the connection). The menu,
// the options screen and its live preview show what exists, and going on
// through checks and plan finds nothing to do: zero writes.
func TestE2ERerunOptionsFollowExistingSetup(t *testing.T) {
	d, ctx := startDemo(t)
	c, err := steps.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authentik.GenerateKeyPair(ctx, authentik.GenerateKeyPairRequest{CommonName: "lab-rsa", ValidityDays: 365, Alg: "rsa"}); err != nil {
		t.Fatal(err)
	}
	in := d.Inputs
	in.Realm, in.SubjectMode, in.SigningKey, in.Users = "sso", "user_username", "lab-rsa", []string{"alice"}
	e := steps.New(c, in)
	p, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, p, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Authentik.Kit().ResetLog()
	d.Proxmox.Kit().ResetLog()

	opts := testOptions(nil)
	opts.Inputs = steps.Inputs{}.Adopting() // no config file, no flags
	opts = DemoOptions(d, opts)
	tm := teatest.NewTestModel(t, New(ctx, opts), teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "Demo:")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "setup exists on both sides", "Healthy", `realm "sso": 1 user`)
	tm.Send(runes("4")) // Change options
	// the preview: alice's username as subject, username-claim subject
	waitText(t, tm, "preview:", "alice@sso", "user_username")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "All checks passed")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "Nothing to do")
	tm.Send(keyOf(tea.KeyCtrlC))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if w := d.Authentik.Kit().Writes() + d.Proxmox.Kit().Writes(); w != 0 {
		t.Fatalf("rerun through the options wrote %d times", w)
	}

	// the same path at the command level: what the options screen hands on
	// is what the plan uses, and it plans nothing
	msg := discover(context.Background(), 0, d.Conn, steps.Inputs{AuthentikURL: d.Conn.AuthentikURL, ProxmoxURL: d.Conn.ProxmoxURL}.Adopting(), opts.EngineOptions)().(discoveredMsg)
	if msg.err != nil || msg.inputs == nil {
		t.Fatalf("discover: %v, inputs %v", msg.err, msg.inputs)
	}
	var o *optionsScreen
	goldenModel(t, scrOptions, func(c *common) screen {
		o = newOptionsScreen(c, *msg.inputs, msg.facts, msg.akUsers)
		return o
	})
	chosen := o.inputs()
	if chosen.Realm != "sso" || chosen.SubjectMode != "user_username" || chosen.SigningKey != "lab-rsa" {
		t.Fatalf("options prefilled %+v", chosen)
	}
	if pv := o.preview(chosen); !strings.Contains(pv, "alice@sso") {
		t.Errorf("preview %q", pv)
	}
	pm := buildPlan(context.Background(), 0, planSetup, msg.clients, chosen, opts.EngineOptions)()
	if pb, ok := pm.(planReadyMsg); !ok || pb.err != nil || !pb.plan.OK() {
		t.Fatalf("plan after the options: %#v", pm)
	}
	if w := d.Authentik.Kit().Writes() + d.Proxmox.Kit().Writes(); w != 0 {
		t.Fatalf("wrote %d times", w)
	}
}
