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
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/provision"
)

// Name is the provider's name in the registry and on the command line.
const Name = "terraform"

// Config is how to reach TFE and the KVM host the modules target.
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
}

// ConfigFrom reads a Config from provider options (keys as the fields,
// lower-case with '-': address, token, organization, project, agent-pool,
// auto-apply, libvirt-uri, pool, image-dir, container-image, parallel,
// poll-interval), then from the environment, then defaults.
func ConfigFrom(m map[string]string) Config {
	get := func(key string, envs ...string) string {
		if v := m[key]; v != "" {
			return v
		}
		for _, e := range envs {
			if v := os.Getenv(e); v != "" {
				return v
			}
		}
		return ""
	}
	c := Config{
		Address:        get("address", "TFE_ADDRESS"),
		Token:          secret.New(get("token", "TFE_TOKEN")),
		Organization:   get("organization", "TFE_ORGANIZATION"),
		Project:        get("project", "TFE_PROJECT"),
		AgentPool:      get("agent-pool", "TAILAB_TF_AGENT_POOL"),
		LibvirtURI:     get("libvirt-uri", "TAILAB_TF_LIBVIRT_URI"),
		Pool:           get("pool", "TAILAB_TF_POOL"),
		ImageDir:       get("image-dir-remote", "TAILAB_TF_IMAGE_DIR"),
		ContainerImage: get("container-image", "TAILAB_TF_CONTAINER_IMAGE"),
	}
	c.AutoApply, _ = strconv.ParseBool(get("auto-apply", "TAILAB_TF_AUTO_APPLY"))
	c.Parallel, _ = strconv.Atoi(get("parallel", "TAILAB_TF_PARALLEL"))
	c.PollInterval, _ = time.ParseDuration(get("poll-interval", "TAILAB_TF_POLL_INTERVAL"))
	c.RunTimeout, _ = time.ParseDuration(get("run-timeout", "TAILAB_TF_RUN_TIMEOUT"))
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
	return c
}

var _ provision.Provider = (*Provider)(nil)

// Provider is the Terraform (TFE) provider.
type Provider struct {
	cfg Config

	mu        sync.Mutex
	client    *tfe.Client
	projectID string
	obs       provision.Observer // of the Apply or Destroy in progress
}

// New returns a provider; it connects to TFE on first use, so that
// `up --dry-run --out DIR` writes modules without credentials.
func New(cfg Config) *Provider { return &Provider{cfg: cfg} }

// Factory builds the provider from registry options.
func Factory(m map[string]string) (provision.Provider, error) { return New(ConfigFrom(m)), nil }

// Name returns "terraform".
func (p *Provider) Name() string { return Name }

// Close releases nothing: the TFE client holds idle connections only.
func (p *Provider) Close() error { return nil }

// ErrNotConfigured is returned when TFE is needed but not configured.
var ErrNotConfigured = errors.New("Terraform Cloud/Enterprise is not configured: set TFE_TOKEN and TFE_ORGANIZATION (and TFE_ADDRESS for Terraform Enterprise)")

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
	c, err := tfe.NewClient(&tfe.Config{Address: p.cfg.Address, Token: p.cfg.Token.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", p.cfg.Address, scrub(err, p.cfg.Token))
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
