package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/progress"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/static"
)

// upOptions: tailab up LAB --session S (--candidates roster.csv | --count N).
type upOptions struct {
	g           *globalOptions
	lab         string
	session     string
	roster      string
	count       int
	candidates  []string
	dryRun      bool
	force       bool
	forceCancel bool
	noWait      bool
	noFaults    bool
	parallel    int
	decision    float64 // --decision-threshold
	provider    string
	output      string
	out         string
	inventory   string

	labDef         *labs.Lab
	labYAML        []byte
	roll           []labs.Candidate
	rosterWarnings []string // an encoding converted, a column ignored: printed first
}

func newUpCommand(g *globalOptions) *cobra.Command {
	o := &upOptions{g: g}
	c := &cobra.Command{
		Use:   "up [LAB] --session NAME (--candidates roster.csv | --count N)",
		Short: "Bring up one isolated lab per candidate (idempotent: re-running reconciles)",
		Long: `up brings up one isolated copy of LAB (a built-in lab name or a file) per candidate.
Re-running it reconciles: it creates what is missing, keeps what is right and
replaces what drifted. After a failure, Ctrl-C or a crash nothing is rolled back:
run up again to finish, or down to remove everything.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.session, "session", "s", "", "session name (required)")
	f.StringVar(&o.roster, "candidates", "", "roster CSV: id, last name, first name")
	f.IntVar(&o.count, "count", 0, "number of candidates (c01..cNN) when there is no roster")
	f.StringSliceVarP(&o.candidates, "candidate", "c", nil, "only these candidates of the session (repeat -c)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan (create / keep / replace / remove) and touch nothing")
	f.BoolVar(&o.force, "force", false, "skip the host capacity check")
	f.BoolVar(&o.forceCancel, "force-cancel", false, "--provider terraform: cancel the runs in progress (stuck ones: then force-cancel) instead of following them, and queue new ones")
	f.BoolVar(&o.noWait, "no-wait", false, "do not wait for machines to be ready (faults are then not applied)")
	f.BoolVar(&o.noFaults, "no-faults", false, "do not apply the lab's faults (they are applied once per candidate, when its machines are first ready)")
	f.IntVar(&o.parallel, "parallel", 8, "machines created at once")
	f.StringVar(&o.provider, "provider", "libvirt", "provisioning back-end")
	f.StringVarP(&o.output, "output", "o", "table", "plan output with --dry-run: table or json")
	f.StringVar(&o.inventory, "inventory", "", "--provider static: the inventory of the existing machines (docs/existing-room.md)")
	f.Float64Var(&o.decision, "decision-threshold", 0, "percent of a CCP's points from which the record proposes acquis (default: the lab's decision rule, else 50)")
	f.StringVar(&o.out, "out", "", "with --dry-run --provider terraform: write the Terraform modules under this directory")
	return c
}

// Complete loads the lab and the roster.
func (o *upOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.lab = args[0]
	}
	if o.lab != "" {
		var err error
		if o.labDef, o.labYAML, err = exam.OpenLab(o.lab); err != nil {
			return err
		}
	}
	switch {
	case o.roster != "":
		roll, err := exam.ReadRosterFile(o.roster)
		if err != nil {
			return err
		}
		o.roll, o.rosterWarnings = roll.Candidates, roll.Warnings
	case o.count > 0:
		o.roll = provision.NumberedCandidates(o.count)
	}
	if o.inventory != "" {
		inv, data, err := static.LoadInventoryFile(o.inventory)
		if err != nil {
			return errclass.Wrap(errclass.BadInput, err)
		}
		o.g.static = static.Config{Inventory: inv, InventoryYAML: data}
	}
	return nil
}

// Validate checks flags.
func (o *upOptions) Validate() error {
	if o.session == "" {
		return errclass.Usagef("--session is required")
	}
	if o.roster != "" && o.count > 0 {
		return errclass.Usagef("--candidates and --count are exclusive")
	}
	if o.inventory != "" && o.provider != static.Name {
		return errclass.Usagef("--inventory goes with --provider static")
	}
	if o.out != "" && !o.dryRun {
		return errclass.Usagef("--out goes with --dry-run")
	}
	if o.count < 0 || o.parallel < 1 {
		return errclass.Usagef("--count and --parallel must be positive")
	}
	return validOutput(o.output, "table", "json")
}

// Run plans and applies.
func (o *upOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	fmt.Fprint(cmd.ErrOrStderr(), exam.Warnings(o.rosterWarnings))
	eng, err := o.g.engine(o.provider)
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	sess, err := exam.UpSession(eng, exam.SessionSpec{Name: o.session, Lab: o.labDef, LabYAML: o.labYAML, Roster: o.roll, Provider: o.provider, DecisionThreshold: o.decision})
	if err != nil {
		return err
	}
	if !o.dryRun {
		// Held from the plan to the end of the apply: a `down` (or gc) of the
		// session meanwhile is refused, and this up is if one runs.
		release, err := eng.Hold(sess.Name, "up")
		if err != nil {
			return err // busy: infrastructure (exit 3)
		}
		defer release()
	}
	start := time.Now()
	plan, err := eng.Plan(ctx, sess, o.candidates)
	if err != nil {
		return err
	}
	if o.dryRun {
		return o.printDryRun(cmd, sess, plan)
	}
	if !o.g.Quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "session %s: lab %s, %d candidate(s): %s\n", sess.Name, sess.Lab, len(plan.Instances), plan.Summary())
	}
	err = exam.Up(ctx, eng, sess, plan, exam.UpOptions{
		Only: o.candidates, Force: o.force, NoFaults: o.noFaults, Log: o.g.logf(cmd),
		Apply:    provision.ApplyOptions{Parallel: o.parallel, NoWait: o.noWait, ForceCancel: o.forceCancel},
		Machines: progress.ForUp(cmd.ErrOrStderr(), o.g.Quiet, o.g.NoColor, plan.Instances, start, !o.noWait),
	})
	if err != nil {
		return err
	}
	if !o.g.Quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "session %s is up in %.1fs\n", sess.Name, time.Since(start).Seconds())
	}
	// The states up just recorded (each machine was probed ready moments ago);
	// `tailab status` probes them live.
	ms, err := eng.State.Machines(sess.Name)
	if err != nil {
		return err
	}
	return renderStatus(cmd, ms, "table")
}

// printDryRun is `up --dry-run`: the plan (and with --out, the Terraform
// modules), then the roster.
func (o *upOptions) printDryRun(cmd *cobra.Command, sess *provision.Session, plan *provision.Plan) error {
	if o.out != "" {
		if err := writePlanModules(cmd, plan, o.out); err != nil {
			return errclass.Wrap(errclass.Usage, err)
		}
	}
	if err := printPlan(cmd, plan, o.output); err != nil || o.output == "json" {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "\nCandidates (%d, roster order):\n", len(sess.Candidates))
	return exam.PrintDraws(cmd.OutOrStdout(), sess)
}

func printPlan(cmd *cobra.Command, plan *provision.Plan, output string) error {
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), plan)
	}
	return exam.PrintPlan(cmd.OutOrStdout(), plan)
}
