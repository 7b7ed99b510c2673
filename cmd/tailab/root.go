package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	_ "time/tzdata" // --tz works on a machine without a zoneinfo database

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/clidoc"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/static"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	DataDir  string
	QEMU     string
	LXC      string
	ImageDir string
	HostVar  string
	VirtType string
	Console  string // VNC listen address
	RootFS   string // lab containers' root file system ("built", a path, "host")
	Libvirtd string // PID of libvirtd, where containers' mounts are made
	Quiet    bool
	NoColor  bool
	// Several libvirt hosts (docs/multi-host.md): repeated --host
	// NAME=QEMU_URI[,LXC_URI] and/or --hosts FILE replace the single host of
	// --connect/--connect-lxc.
	Hosts     []string
	HostsFile string
	// TZ is the centre's time zone (--tz): every date a jury or candidate
	// reads is written in it, with the zone printed.
	TZ string
	// Loc is TZ loaded (before any verb runs).
	Loc *time.Location
	// static configures the static provider (up --inventory).
	static static.Config
}

// defaultTZ is the centre's time zone unless --tz says otherwise: TZ from the
// environment, else Europe/Paris (the title is French; a server often runs
// in UTC).
func defaultTZ() string {
	if tz := os.Getenv("TZ"); tz != "" && !strings.HasPrefix(tz, ":") {
		return tz
	}
	return "Europe/Paris"
}

func defaultDataDir() string {
	if d := os.Getenv("TAILAB_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tailab")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".tailab"
	}
	return filepath.Join(home, ".local", "share", "tailab")
}

// splitHostSpecs splits a ';'- or newline-separated list of host specs.
func splitHostSpecs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newRootCommand() *cobra.Command { return newRoot(&globalOptions{}) }

// newRoot is the command tree over g, which its flags fill.
func newRoot(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "tailab",
		Short: "Provision and grade TAI practical-exam labs",
		Long: `tailab provisions one isolated exam lab per candidate (libvirt VMs and LXC
containers) and grades each lab with automated checks mapped to the competences
of the title "Technicien d'assistance en informatique".`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
		PersistentPreRunE: func(*cobra.Command, []string) (err error) {
			if g.Loc, err = time.LoadLocation(g.TZ); err != nil {
				return errclass.Usagef("--tz %q: unknown time zone (e.g. Europe/Paris, Indian/Reunion, UTC)", g.TZ)
			}
			return nil
		},
	}
	root.SetVersionTemplate(versionLine)
	pf := root.PersistentFlags()
	pf.StringVar(&g.DataDir, "data-dir", defaultDataDir(), "where tailab keeps its state (env TAILAB_DATA_DIR)")
	pf.StringVar(&g.QEMU, "connect", envOr("TAILAB_QEMU_URI", "qemu:///system"), "libvirt URI for VMs (env TAILAB_QEMU_URI)")
	pf.StringVar(&g.LXC, "connect-lxc", envOr("TAILAB_LXC_URI", "lxc:///system"), "libvirt URI for containers (env TAILAB_LXC_URI)")
	pf.StringVar(&g.ImageDir, "image-dir", os.Getenv("TAILAB_IMAGE_DIR"), "base images by name (default DATA_DIR/images; env TAILAB_IMAGE_DIR)")
	pf.StringVar(&g.HostVar, "host-var", os.Getenv("TAILAB_HOSTVAR"), "the host's /var as the daemon sees it, for a libvirtd with a private /var (env TAILAB_HOSTVAR)")
	pf.StringVar(&g.VirtType, "virt-type", envOr("TAILAB_VIRT_TYPE", "kvm"), "QEMU domain type: kvm, or qemu for software emulation (TCG)")
	pf.StringVar(&g.Console, "console-listen", envOr("TAILAB_CONSOLE_LISTEN", "127.0.0.1"), "address VM consoles (VNC) listen on: the host's address on the exam-room network (env TAILAB_CONSOLE_LISTEN)")
	pf.StringVar(&g.RootFS, "rootfs", envOr("TAILAB_ROOTFS", "built"), "root file system of lab containers: \"built\" (the one scripts/build-rootfs.sh made for this binary), a path, or \"host\" for the host's / without user namespace (unsafe: root in a container is root on the host) (env TAILAB_ROOTFS)")
	pf.StringVar(&g.Libvirtd, "libvirtd-pid", os.Getenv("TAILAB_LIBVIRTD_PID"), "PID of libvirtd, in whose mount namespace containers' mounts are made (default: the peer of its socket; env TAILAB_LIBVIRTD_PID)")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "print only errors and results")
	pf.BoolVar(&g.NoColor, "no-color", os.Getenv("NO_COLOR") != "", "no colours (env NO_COLOR)")
	pf.StringVar(&g.TZ, "tz", defaultTZ(), "the centre's time zone for the dates on reports, records and sheets (default: env TZ, else Europe/Paris)")
	pf.StringArrayVar(&g.Hosts, "host", splitHostSpecs(os.Getenv("TAILAB_LIBVIRT_HOSTS")),
		"a libvirt host labs may be placed on, NAME=QEMU_URI[,LXC_URI] (repeat for several; env TAILAB_LIBVIRT_HOSTS, ';'-separated); replaces --connect")
	pf.StringVar(&g.HostsFile, "hosts", os.Getenv("TAILAB_LIBVIRT_HOSTS_FILE"),
		"YAML file of libvirt hosts (hosts: [{name, qemu, lxc}]; env TAILAB_LIBVIRT_HOSTS_FILE); replaces --connect")
	for _, verb := range verbs {
		root.AddCommand(verb(g))
	}
	addCompletions(root, g)
	root.InitDefaultHelpCmd()       // now, so that usageErrors gives them
	root.InitDefaultCompletionCmd() // their examples too
	usageErrors(root)
	return root
}

// usageErrors makes cobra's own errors — an unknown flag or command, the
// wrong number of arguments — usage errors, in c and every command below it,
// and gives each its examples (internal/clidoc).
func usageErrors(c *cobra.Command) {
	if c.Example == "" {
		c.Example = clidoc.Example(c.CommandPath())
	}
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if name, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok { // pflag suggests nothing
			var names []string
			cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
			err = fmt.Errorf("%w%s", err, yamlx.Suggest(name, names))
		}
		return errclass.Wrap(errclass.Usage, err)
	})
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error { return errclass.Wrap(errclass.Usage, args(cmd, a)) }
	} else if c.HasSubCommands() && !c.Runnable() {
		// A verb of verbs: cobra would print its help and exit 0 on an
		// unknown sub-verb.
		c.Args = func(cmd *cobra.Command, a []string) error {
			var names []string
			for _, sub := range cmd.Commands() {
				names = append(append(names, sub.Name()), sub.Aliases...)
			}
			if len(a) > 0 {
				return errclass.Usagef("unknown command %q for %q%s", a[0], cmd.CommandPath(), yamlx.Suggest(a[0], names))
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// verbs is every verb of tailab, in the order of the help: adding a verb is
// one line here (and its file).
var verbs = []func(*globalOptions) *cobra.Command{
	newValidateCommand,
	newLabCommand,
	newSchemaCommand,
	newUpCommand,
	newDownCommand,
	newStatusCommand,
	newSessionCommand,
	newGCCommand,
	newGradeCommand,
	newVersionCommand,
	newAccessCommand,
	newDemoCommand,
	newReportCommand,
	newJuryCommand,
	newResetCommand,
	newAuditCommand,
	newServeCommand,
	newSheetsCommand,
	newSnapshotCommand,
	newVerifyCommand,
	newGatewayCommand,
	newDoctorCommand,
	newSSHCommand,
	newExecCommand,
	newInventoryCommand,
}

// providers lists the back-ends built in (not libvirt with -tags nolibvirt), configured from g.
func providers(g *globalOptions) *provision.Registry {
	r := provision.NewRegistry()
	r.Register("libvirt", libvirtProvider(g))
	r.Register(static.Name, func() (provision.Provider, error) { return static.New(g.static), nil })
	for _, f := range extraProviders {
		f(r)
	}
	return r
}

// engine opens the state and the session's provider.
func (g *globalOptions) engine(providerName string) (*provision.Engine, error) {
	st, err := provision.OpenState(g.DataDir)
	if err != nil {
		return nil, err
	}
	if providerName == "" {
		providerName = "libvirt"
	}
	p, err := providers(g).New(providerName)
	if err != nil {
		return nil, errclass.Wrap(errclass.Usage, err)
	}
	return &provision.Engine{State: st, Provider: p}, nil
}

// logf prints progress lines on the command's stderr (nil with --quiet).
func (g *globalOptions) logf(cmd *cobra.Command) exam.Logf {
	if g.Quiet {
		return nil
	}
	return func(format string, args ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...) }
}
