// Package terraform is the provider that runs labs through Terraform Cloud or
// Terraform Enterprise (TFE) on remote KVM hosts: every candidate's lab is a
// Terraform root module for the libvirt Terraform provider (generated from
// templates/terraform), uploaded to its own workspace and applied by a run;
// the session's management network has a workspace of its own.
//
// Names follow the local libvirt provider (tl-SESSION.CANDIDATE.NAME), so
// both providers' objects look the same on a host. Workspaces are named
// tl-SESSION_CANDIDATE (tl-SESSION_mgmt) and tagged tailab, session:S,
// candidate:C, lab:L: `up` finds them again and queues only what is needed,
// `down` queues destroy runs and deletes them.
package terraform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/readiness"
)

// Name is the provider's name in the registry and on the command line.
const Name = "terraform"

// Config is how to reach TFE and the KVM host the modules target. cmd fills
// it (from TFE_* and TAILAB_TF_* and flags); Complete sets the defaults.
type Config struct {
	Address      string       // TFE_ADDRESS (default https://app.terraform.io)
	Token        secret.Value // TFE_TOKEN: never printed
	Organization string       // TFE_ORGANIZATION
	Project      string       // TFE_PROJECT: a project name or id (prj-...); "" for the default project
	AgentPool    string       // TAILAB_TF_AGENT_POOL: run on agents near the KVM hosts (execution mode agent)
	AutoApply    bool         // TAILAB_TF_AUTO_APPLY=1: workspaces apply by themselves; else tailab confirms
	LibvirtURI   string       // TAILAB_TF_LIBVIRT_URI: the KVM host as Terraform's libvirt provider reaches it
	Pool         string       // TAILAB_TF_POOL: storage pool on that host (default "default")
	ImageDir     string       // TAILAB_TF_IMAGE_DIR: where base images NAME.qcow2 live in that pool
	// ContainerImage is the base image of a lab's containers, which become
	// small Linux VMs on a remote host (TAILAB_TF_CONTAINER_IMAGE).
	ContainerImage string
	Parallel       int           // workspaces handled at once (default 8)
	PollInterval   time.Duration // between reads of a run or configuration version (default 2s)
	RunTimeout     time.Duration // one run, queued to applied (default 1h)
	// RetryFor bounds the retries of a request the server could not answer
	// (connection refused or reset, 5xx on a read): a restarting server is
	// ridden out for that long (default 2m).
	RetryFor time.Duration
	// StuckAfter is how long a run may keep one status (other than waiting
	// for confirmation) before tailab reports it stuck (default 20m): a run
	// whose worker died stays "applying" for good.
	StuckAfter time.Duration
	// Sweeper removes what a dead run left on the KVM host outside the
	// workspace's state; nil: such objects make the next apply fail, and
	// the error says so.
	Sweeper Sweeper
	// Ready waits for a machine's readiness once its workspace is applied
	// (its management address answering SSH, a TCP port or WinRM, as its lab
	// says); default: package readiness's check, the libvirt provider's.
	Ready ReadyFunc
}

// ReadyFunc waits until a machine answers on its management address as its
// lab says (SSH banner, WinRM TLS listener, a TCP port), within the lab's
// timeout, and returns the WinRM certificate's fingerprint when it pins one.
type ReadyFunc func(ctx context.Context, mc labs.Machine, ms provision.MachineState) (tlsPin string, err error)

// WaitReady is the default ReadyFunc: package readiness on the machine's
// management address (every machine is a VM on a remote host: containers
// become small VMs there).
func WaitReady(ctx context.Context, mc labs.Machine, ms provision.MachineState) (string, error) {
	if ms.MgmtAddress == "" {
		return "", fmt.Errorf("no management address in the outputs")
	}
	return readiness.Wait(ctx, mc.Ready, true, ms.MgmtAddress)
}

// Sweeper removes the objects a candidate's lab (the session's management
// network when candidate is "") has on the KVM host, found by tailab's names
// and metadata tag, whether a workspace's state knows them or not.
type Sweeper interface {
	Sweep(ctx context.Context, session, candidate string) ([]string, error)
}

// Complete fills the defaults.
func (c *Config) Complete() {
	if c.Address == "" {
		c.Address = tfe.DefaultAddress
	}
	if c.LibvirtURI == "" {
		c.LibvirtURI = "qemu:///system"
	}
	if c.Pool == "" {
		c.Pool = "default"
	}
	if c.ImageDir == "" {
		c.ImageDir = "/var/lib/libvirt/images"
	}
	if c.ContainerImage == "" {
		c.ContainerImage = "tailab-linux"
	}
	if c.Parallel < 1 {
		c.Parallel = 8
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = time.Hour
	}
	if c.RetryFor <= 0 {
		c.RetryFor = 2 * time.Minute
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = 20 * time.Minute
	}
	if c.Ready == nil {
		c.Ready = WaitReady
	}
}

var _ provision.Provider = (*Provider)(nil)

// Provider is the Terraform (TFE) provider.
type Provider struct {
	cfg Config

	mu           sync.Mutex
	client       *tfe.Client
	projectID    string
	obs          provision.Observer // of the Apply or Destroy in progress
	noSafeDelete atomic.Bool        // the server has no safe-delete route (OTF)
	unreachable  atomic.Int64       // requests retried because the server could not answer
}

// New returns a provider; it connects to TFE on first use, so that
// `up --dry-run --out DIR` writes modules without credentials.
func New(cfg Config) *Provider {
	cfg.Complete()
	return &Provider{cfg: cfg}
}

// Name returns "terraform".
func (p *Provider) Name() string { return Name }

// Close releases nothing: the TFE client holds idle connections only.
func (p *Provider) Close() error { return nil }

// ErrNotConfigured is returned when TFE is needed but not configured.
var ErrNotConfigured = errors.New("the terraform provider is not configured: set TFE_TOKEN and TFE_ORGANIZATION (and TFE_ADDRESS for Terraform Enterprise)")

// configured reports whether TFE can be reached.
func (p *Provider) configured() bool {
	return !p.cfg.Token.IsZero() && p.cfg.Organization != ""
}

// tfeClient connects to TFE once (go-tfe pings the API and reads its version).
func (p *Provider) tfeClient() (*tfe.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	if !p.configured() {
		return nil, ErrNotConfigured
	}
	// NewClient reads the API version (GET /api/v2/ping): ride out a
	// server that is restarting, as for any read.
	var c *tfe.Client
	if err := p.read(context.Background(), "connect to "+p.cfg.Address, func(context.Context) error {
		var err error
		c, err = tfe.NewClient(&tfe.Config{Address: p.cfg.Address, Token: p.cfg.Token.Reveal()})
		return err
	}); err != nil {
		return nil, err
	}
	p.client = c
	return c, nil
}

// scrub removes the token from an error's text, should an error ever quote it.
func scrub(err error, tok secret.Value) error {
	if err == nil || tok.IsZero() || !strings.Contains(err.Error(), tok.Reveal()) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), tok.Reveal(), "***"))
}
