package authentik

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Group is an authentik group.
type Group struct {
	PK          string // uuid (policy bindings take this)
	NumPK       int
	Name        string
	IsSuperuser bool
}

type groupJSON struct {
	PK          string `json:"pk"`
	NumPK       int    `json:"num_pk"`
	Name        string `json:"name"`
	IsSuperuser bool   `json:"is_superuser"`
}

func (g *groupJSON) valid() error {
	if g.PK == "" || g.Name == "" {
		return errors.New("group without pk or name")
	}
	return nil
}

// ListGroupsOptions filters ListGroups.
type ListGroupsOptions struct {
	Name string // exact
}

// ListGroups lists groups (GET /core/groups/), without their member lists.
func (c *Client) ListGroups(ctx context.Context, o ListGroupsOptions) ([]Group, error) {
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	q := filterQuery("name", o.Name)
	if v.hasGroupsIncludeUsers() {
		q.Set("include_users", "false")
	}
	raw, err := list[groupJSON](ctx, c, "/core/groups/", q)
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(raw))
	for _, g := range raw {
		if o.Name != "" && g.Name != o.Name {
			continue
		}
		out = append(out, Group(g))
	}
	return out, nil
}

// PolicyBinding binds a policy, group or user to a target (an application's
// pk). An application with bindings is open only to what they allow.
type PolicyBinding struct {
	PK            string
	Target        string
	Group         string // group uuid or ""
	Policy        string // policy uuid or ""
	User          *int
	Order         int
	Enabled       bool
	Negate        bool
	Timeout       int
	FailureResult bool
}

type policyBindingJSON struct {
	PK            string  `json:"pk"`
	Target        string  `json:"target"`
	Group         *string `json:"group"`
	Policy        *string `json:"policy"`
	User          *int    `json:"user"`
	Order         *int    `json:"order"`
	Enabled       bool    `json:"enabled"`
	Negate        bool    `json:"negate"`
	Timeout       int     `json:"timeout"`
	FailureResult bool    `json:"failure_result"`
}

func (b *policyBindingJSON) valid() error {
	if b.PK == "" || b.Target == "" || b.Order == nil {
		return errors.New("policy binding without pk, target or order")
	}
	return nil
}

func (b *policyBindingJSON) binding() PolicyBinding {
	return PolicyBinding{PK: b.PK, Target: b.Target, Group: str(b.Group), Policy: str(b.Policy), User: b.User,
		Order: *b.Order, Enabled: b.Enabled, Negate: b.Negate, Timeout: b.Timeout, FailureResult: b.FailureResult}
}

// PolicyBindingRequest creates a binding. Exactly one of Group, Policy, User
// must be set.
type PolicyBindingRequest struct {
	Target  string // application pk (uuid)
	Group   string
	Policy  string
	User    *int
	Order   int
	Enabled bool
	Negate  bool
	// Timeout in seconds; 0 leaves authentik's default (30).
	Timeout       int
	FailureResult bool
}

type policyBindingBody struct {
	Target        string  `json:"target"`
	Group         *string `json:"group,omitempty"`
	Policy        *string `json:"policy,omitempty"`
	User          *int    `json:"user,omitempty"`
	Order         int     `json:"order"`
	Enabled       bool    `json:"enabled"`
	Negate        bool    `json:"negate"`
	Timeout       int     `json:"timeout,omitempty"`
	FailureResult bool    `json:"failure_result"`
}

// ListPolicyBindings lists the bindings of a target (GET
// /policies/bindings/?target=...).
func (c *Client) ListPolicyBindings(ctx context.Context, target string) ([]PolicyBinding, error) {
	if target == "" {
		return nil, fmt.Errorf("%w: empty binding target", ErrInvalidRequest)
	}
	raw, err := list[policyBindingJSON](ctx, c, "/policies/bindings/", url.Values{"target": {target}})
	if err != nil {
		return nil, err
	}
	out := make([]PolicyBinding, 0, len(raw))
	for i := range raw {
		if raw[i].Target != target {
			continue
		}
		out = append(out, raw[i].binding())
	}
	return out, nil
}

// CreatePolicyBinding creates a binding (POST /policies/bindings/).
func (c *Client) CreatePolicyBinding(ctx context.Context, r PolicyBindingRequest) (*PolicyBinding, error) {
	n := 0
	body := policyBindingBody{Target: r.Target, Order: r.Order, Enabled: r.Enabled, Negate: r.Negate,
		Timeout: r.Timeout, FailureResult: r.FailureResult}
	if r.Group != "" {
		n++
		body.Group = &r.Group
	}
	if r.Policy != "" {
		n++
		body.Policy = &r.Policy
	}
	if r.User != nil {
		n++
		body.User = r.User
	}
	if r.Target == "" || n != 1 || r.Timeout < 0 {
		return nil, fmt.Errorf("%w: a binding needs a target and exactly one of group, policy, user", ErrInvalidRequest)
	}
	const p = "/policies/bindings/"
	var raw policyBindingJSON
	if err := c.do(ctx, http.MethodPost, p, nil, body, &raw); err != nil {
		return nil, err
	}
	if err := raw.valid(); err != nil {
		return nil, &ResponseError{Method: http.MethodPost, Path: APIPrefix + p, StatusCode: 201, Reason: err.Error()}
	}
	b := raw.binding()
	return &b, nil
}

// DeletePolicyBinding deletes a binding by uuid.
func (c *Client) DeletePolicyBinding(ctx context.Context, pk string) error {
	if pk == "" {
		return fmt.Errorf("%w: empty binding id", ErrInvalidRequest)
	}
	return c.do(ctx, http.MethodDelete, "/policies/bindings/"+url.PathEscape(pk)+"/", nil, nil, nil)
}
