package ui

import (
	"context"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

// Messages are unexported, end in Msg, and carry copies: the UI never
// shares mutable state with a running command.

// side names a server.
type side string

const (
	sideProxmox   side = "proxmox"
	sideAuthentik side = "authentik"
)

// welcomeDoneMsg leaves the welcome screen.
type welcomeDoneMsg struct{}

// probeDoneMsg is the result of checking a server's certificate and
// reachability.
type probeDoneMsg struct {
	side side
	gen  int
	cert *tlstrust.CertError // not trusted: ask the user
	err  error               // unreachable or other failure
}

// connDoneMsg says a connection screen is complete; conn carries its side's
// fields (the root copies them into its Conn).
type connDoneMsg struct {
	side side
	conn steps.Conn
}

// pinAcceptedMsg is sent when the user pinned a certificate.
type pinAcceptedMsg struct {
	side     side
	url, pin string
}

// discoveredMsg is the first read of both servers.
type discoveredMsg struct {
	gen        int
	clients    *steps.Clients
	report     *steps.Report
	facts      steps.Facts
	status     *steps.Plan // nil when nothing exists yet
	akUsers    []steps.UserInfo
	realmUsers []steps.RealmUser
	// inputs are the choices with the existing managed setup's settings
	// adopted (steps.Inputs.Adopting); nil when no managed setup was found.
	inputs *steps.Inputs
	// tfa is set when Proxmox answered the password login with a
	// second-factor challenge (its methods; may be empty): the wizard
	// asks for the code on the Proxmox screen.
	tfa *tfaChallenge
	err error
}

// tfaChallenge is what Proxmox asked for (steps.TFAMethods).
type tfaChallenge struct{ methods []string }

// statusReadMsg refreshes the rerun menu.
type statusReadMsg struct {
	gen        int
	status     *steps.Plan
	realmUsers []steps.RealmUser
	err        error
}

// optionsDoneMsg carries the chosen inputs.
type optionsDoneMsg struct{ inputs steps.Inputs }

// checksDoneMsg is a Preflight result.
type checksDoneMsg struct {
	gen    int
	report *steps.Report
	facts  steps.Facts
	err    error
}

// planMode says what a plan screen shows.
type planMode int

const (
	planSetup  planMode = iota // setup or repair: apply on confirm
	planStatus                 // read-only
	planRemove                 // removal: apply deletes
)

// planReadyMsg is a computed plan with the engine that made it (Apply must
// run on the same engine; commands use it one at a time).
type planReadyMsg struct {
	gen    int
	mode   planMode
	plan   *steps.Plan // a copy, for display
	orig   *steps.Plan // the engine's plan, handed back to Apply untouched
	engine *steps.Engine
	err    error
}

// applyStartedMsg hands the event channel to the apply screen.
type applyStartedMsg struct {
	gen    int
	events <-chan applyUpdate
	cancel context.CancelFunc
}

// applyUpdate is one item read from the event channel: an event, or the
// final result.
type applyUpdate struct {
	event  *steps.Event
	result *steps.Result
	err    error
	done   bool
}

// applyEventMsg is one engine event.
type applyEventMsg struct {
	gen    int
	ev     steps.Event
	events <-chan applyUpdate
}

// applyFinishedMsg ends an apply.
type applyFinishedMsg struct {
	gen    int
	result *steps.Result
	err    error
}

// gotoDoneMsg moves to the done screen with a result.
type gotoDoneMsg struct {
	result  *steps.Result
	removed bool
}

// retryMsg asks the root to rebuild the plan and apply again.
type retryMsg struct{ mode planMode }

// loginURLMsg is a fresh login link.
type loginURLMsg struct {
	url string
	err error
}

// browserOpenedMsg reports the launcher's outcome.
type browserOpenedMsg struct {
	url    string
	opened browser.Opened
	err    error
}

// realmUsersMsg is one poll of the realm's users.
type realmUsersMsg struct {
	gen   int
	users []string
	err   error
}

// usersAddedMsg reports PlanUsers + Apply.
type usersAddedMsg struct {
	gen    int
	users  []string
	items  []steps.Item  // the users plan: one item per user (create / update / none)
	failed []steps.Check // the failed checks when PlanUsers refused
	result *steps.Result
	err    error
}

// simulatedLoginMsg reports a demo login.
type simulatedLoginMsg struct {
	user string
	err  error
}

// menuChoiceMsg is a choice on the rerun menu.
type menuChoiceMsg struct{ choice menuChoice }

// backMsg asks the root to go to the previous screen.
type backMsg struct{}

// quitMsg asks the root to quit.
type quitMsg struct{}

// gotoPlanMsg shows the plan screen.
type gotoPlanMsg struct{ mode planMode }

// gotoApplyMsg starts applying plan (made by engine).
type gotoApplyMsg struct {
	mode           planMode
	engine         *steps.Engine
	plan           *steps.Plan // display copy
	orig           *steps.Plan // the engine's plan
	allowConflicts bool
}

// rememberedMsg reports a config write (saveRemembered); a failure is
// logged, the wizard goes on.
type rememberedMsg struct{ err error }

// tick advances a screen's spinner while its work runs; once it stops, the
// tick is dropped so the spinner stops asking for frames.
func tick(sp *spinner.Model, active bool, msg spinner.TickMsg) tea.Cmd {
	if !active {
		return nil
	}
	var cmd tea.Cmd
	*sp, cmd = sp.Update(msg)
	return cmd
}
