package pack

import "encoding/json"

// Pack is a parsed pack, ready for registration. Components are listed in the
// spec's load order (§2.1); refs are fully qualified and lowercase.
type Pack struct {
	Ref          string         `json:"ref"`
	Label        string         `json:"label"`
	Description  string         `json:"description"`
	Version      string         `json:"version"`
	Author       string         `json:"author,omitempty"`
	Email        string         `json:"email,omitempty"`
	System       bool           `json:"system"`
	Enabled      bool           `json:"enabled"`
	ConfSchema   *ParamSchema   `json:"conf_schema,omitempty"`
	Config       map[string]any `json:"config"` // conf_schema defaults merged with pack.yaml `config`
	Meta         map[string]any `json:"meta,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	RuntimeDeps  []string       `json:"runtime_deps,omitempty"`
	Dependencies []string       `json:"dependencies,omitempty"`
	Testing      map[string]any `json:"testing,omitempty"`
	Placement    Placement      `json:"placement"`

	PermissionSets []*PermissionSet `json:"permission_sets"`
	Runtimes       []*Runtime       `json:"runtimes"`
	Triggers       []*Trigger       `json:"triggers"`
	Actions        []*Action        `json:"actions"`
	Workflows      []*Workflow      `json:"workflows"`
	Policies       []*Policy        `json:"policies"`
	Rules          []*Rule          `json:"rules"`
	Sensors        []*Sensor        `json:"sensors"`

	// ExternalRefs are refs to components outside this pack and outside the
	// core pack (declared dependencies); the registrar must verify them
	// against the DB before committing.
	ExternalRefs []ExternalRef `json:"external_refs,omitempty"`
}

// ExternalRef is a reference the loader could not resolve inside the pack.
type ExternalRef struct {
	Kind string `json:"kind"` // action | trigger | runtime | permission_set
	Ref  string `json:"ref"`
	File string `json:"file"` // pack-relative file that holds the reference
}

// Placement carries the [ext] worker placement hints, stored verbatim.
type Placement struct {
	WorkerSelector    any `json:"worker_selector,omitempty"`
	WorkerTolerations any `json:"worker_tolerations,omitempty"`
	WorkerAffinity    any `json:"worker_affinity,omitempty"`
}

// Component holds the fields every pack component shares.
type Component struct {
	File        string `json:"file"` // pack-relative YAML path
	Ref         string `json:"ref"`  // pack.name
	Name        string `json:"name"` // the part after the pack ref
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
}

// Action is one actions/*.yaml file (spec §2.3).
type Action struct {
	Component
	Enabled           bool         `json:"enabled"`
	RunnerType        string       `json:"runner_type,omitempty"` // lowercase; empty for workflows
	RuntimeRef        string       `json:"runtime_ref,omitempty"` // runtime the runner_type resolved to
	EntryPoint        string       `json:"entry_point"`           // relative to actions/; workflow file path for workflows
	Builtin           bool         `json:"builtin,omitempty"`     // native entry point implemented by the worker (see BuiltinEntryPoints)
	ParameterDelivery string       `json:"parameter_delivery"`    // stdin | file
	ParameterFormat   string       `json:"parameter_format"`      // json | dotenv | yaml
	OutputFormat      string       `json:"output_format"`         // text | json | yaml | jsonl
	TimeoutSeconds    int          `json:"timeout_seconds,omitempty"`
	MaxRetries        int          `json:"max_retries"`
	MaxAttempts       int          `json:"max_attempts,omitempty"`
	OnWorkerLost      string       `json:"on_worker_lost"` // abandon | retry
	Parameters        *ParamSchema `json:"param_schema"`
	Output            *ParamSchema `json:"out_schema,omitempty"`
	Tags              []string     `json:"tags,omitempty"`

	RuntimeVersionConstraint          string    `json:"runtime_version_constraint,omitempty"`
	DefaultExecutionPermissionSetRefs []string  `json:"default_execution_permission_set_refs,omitempty"`
	ReferenceVisibility               string    `json:"reference_visibility"`
	ReferenceAllowedPackRefs          []string  `json:"reference_allowed_pack_refs,omitempty"`
	Placement                         Placement `json:"placement"`

	// WorkflowFile is set for workflow actions (relative to actions/);
	// Workflow is the parsed file it names.
	WorkflowFile string    `json:"workflow_file,omitempty"`
	Workflow     *Workflow `json:"-"`
}

// Workflow is one actions/workflows/*.workflow.yaml graph file (spec §2.8).
// Its semantics belong to the workflow engine; the loader only checks shape.
type Workflow struct {
	File       string          `json:"file"`       // pack-relative path
	Definition map[string]any  `json:"definition"` // JSON-able parsed document
	Raw        []byte          `json:"-"`          // original YAML text
	JSON       json.RawMessage `json:"-"`          // Definition encoded as JSON
}

// Trigger is one triggers/*.yaml file (spec §2.4).
type Trigger struct {
	Component
	Enabled                  bool         `json:"enabled"`
	Type                     string       `json:"type,omitempty"`
	Parameters               *ParamSchema `json:"param_schema"`
	Output                   *ParamSchema `json:"out_schema,omitempty"`
	ReferenceVisibility      string       `json:"reference_visibility"`
	ReferenceAllowedPackRefs []string     `json:"reference_allowed_pack_refs,omitempty"`
	Tags                     []string     `json:"tags,omitempty"`
	Examples                 any          `json:"examples,omitempty"`
}

// Sensor is one sensors/*.yaml file (spec §2.5).
type Sensor struct {
	Component
	Enabled                  bool           `json:"enabled"`
	RunnerType               string         `json:"runner_type"`
	RuntimeRef               string         `json:"runtime_ref"`
	EntryPoint               string         `json:"entry_point"` // relative to sensors/
	Builtin                  bool           `json:"builtin,omitempty"`
	TriggerTypes             []string       `json:"trigger_types"`
	Parameters               *ParamSchema   `json:"param_schema"`
	Config                   map[string]any `json:"config"` // parameter defaults
	PollInterval             int            `json:"poll_interval,omitempty"`
	Tags                     []string       `json:"tags,omitempty"`
	Meta                     map[string]any `json:"meta,omitempty"`
	Examples                 any            `json:"examples,omitempty"`
	RuntimeVersionConstraint string         `json:"runtime_version_constraint,omitempty"`
	Placement                Placement      `json:"placement"`
}

// Rule is one rules/*.yaml file (spec §2.7).
type Rule struct {
	Component
	Enabled           bool           `json:"enabled"`
	TriggerRef        string         `json:"trigger_ref"`
	ActionRef         string         `json:"action_ref"`
	TriggerParams     map[string]any `json:"trigger_params"`
	Conditions        Conditions     `json:"conditions"`
	ActionParams      map[string]any `json:"action_params"`
	PermissionSetRefs []string       `json:"permission_set_refs"` // nil = inherit from the action
}

// Conditions is a rule's match criteria: either an expression or the legacy
// list (ANDed). Both empty means "always match".
type Conditions struct {
	Expression string            `json:"expression,omitempty"`
	Legacy     []LegacyCondition `json:"legacy,omitempty"`
}

// LegacyCondition is one `{field, operator, value}` check; field is relative
// to the event payload.
type LegacyCondition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"` // equals | not_equals | contains
	Value    any    `json:"value"`
}

// Policy is one policies/*.yaml file (DB table policy).
type Policy struct {
	Component
	ActionRef              string   `json:"action_ref"`
	Enabled                bool     `json:"enabled"`
	Priority               int      `json:"priority"`
	Parameters             []string `json:"parameters,omitempty"` // group-by parameter names
	Method                 string   `json:"method,omitempty"`     // cancel | enqueue
	Threshold              int      `json:"threshold,omitempty"`
	RateLimitMaxExecutions int      `json:"rate_limit_max_executions,omitempty"`
	RateLimitWindowSeconds int      `json:"rate_limit_window_seconds,omitempty"`
	Quotas                 []Quota  `json:"quotas,omitempty"`
	Tags                   []string `json:"tags,omitempty"`
}

// Quota is one policy quota entry.
type Quota struct {
	QuotaType string `json:"quota_type"`
	Limit     int    `json:"limit"`
}

// PermissionSet is one permission_sets/*.yaml file (spec §9.4).
type PermissionSet struct {
	Component
	Grants []Grant `json:"grants"`
}

// Grant is one `{resource, actions[], constraints?}` entry.
type Grant struct {
	Resource    string         `json:"resource"`
	Actions     []string       `json:"actions"`
	Constraints map[string]any `json:"constraints,omitempty"`
}
