package libvirt

// Benchmark of the provider's own overhead on libvirt's test driver: Plan and
// Apply (no readiness wait) of a 200-machine session (50 candidates × 4
// containers), next to a baseline measured in the same iteration on another
// fresh test host: the same DomainDefineXML + Create calls (and the networks'
// NetworkDefineXML + Create) with precomputed XML, straight through
// libvirt.org/go/libvirt. The target of the issue is under 2 ms per machine.
//
//	go test -run '^$' -bench PlanApply -benchtime 5x ./provision/libvirt/
//
// Metrics: ns/machine (tailab), raw-ns/machine (baseline), x-raw (ratio), and
// plan-ns/machine (the Plan part alone). "provider" calls Provider.Plan/Apply
// with the secrets already generated; "engine" goes through provision.Engine
// like `tailab up`: secrets generated and stored, every machine state written
// to the bbolt store.

import (
	"context"
	"fmt"
	"testing"
	"time"

	lv "libvirt.org/go/libvirt"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// benchLab is 4 containers on 2 networks.
const benchLab = `name: bench-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.30.0.0/24}
  - {name: dmz, cidr: 10.31.0.0/24}
defaults:
  kind: container
  os: linux
  memory: 64MiB
  credentials: {ssh: {user: root, key: key}}
  services: [sshd]
machines:
  - {name: srv, role: server, nics: [{network: lan, address: 10.30.0.10}, {network: dmz, address: 10.31.0.10}]}
  - {name: web, role: server, nics: [{network: dmz, address: 10.31.0.20}]}
  - {name: pc1, role: client, nics: [{network: lan, address: 10.30.0.21}]}
  - {name: pc2, role: client, nics: [{network: lan, address: 10.30.0.22}]}
`

const (
	benchCandidates = 50
	benchMachines   = benchCandidates * 4
)

func BenchmarkPlanApply(b *testing.B) {
	for _, mode := range []string{"provider", "engine"} {
		b.Run(fmt.Sprintf("%s/%dx4", mode, benchCandidates), func(b *testing.B) {
			var tl, plan, raw time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				h := newTDHost(b)
				s := h.session(b, "bench", benchLab, benchCandidates)
				ins, err := s.Instances()
				if err != nil {
					b.Fatal(err)
				}
				opts := provision.ApplyOptions{NoWait: true, Force: true}
				if mode == "provider" {
					lab, _ := s.LoadLab()
					secrets := map[string]map[string]secret.Value{}
					for _, in := range ins {
						if secrets[in.Candidate.ID], err = h.eng.State.Secrets(s.Name, lab, in.Candidate.ID); err != nil {
							b.Fatal(err)
						}
					}
					opts.Secrets = func(c string) (map[string]secret.Value, error) { return secrets[c], nil }
				}
				// The baseline first: test:///default is one in-process host
				// shared by every open connection, freed when the last closes.
				nets, doms := benchRawXML(b, h, s, ins)
				raw += benchRaw(b, nets, doms)
				b.StartTimer()

				t0 := time.Now()
				var p *provision.Plan
				if mode == "provider" {
					p, err = h.p.Plan(context.Background(), s, ins)
				} else {
					p, err = h.eng.Plan(context.Background(), s, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
				plan += time.Since(t0)
				if mode == "provider" {
					err = h.p.Apply(context.Background(), p, opts, tdObserver{})
				} else {
					err = h.eng.Up(context.Background(), p, opts, tdObserver{})
				}
				if err != nil {
					b.Fatal(err)
				}
				tl += time.Since(t0)

				b.StopTimer()
				if n := p.Count(provision.OpCreate); n != benchMachines+1+2*benchCandidates {
					b.Fatalf("plan creates %d resources", n)
				}
				h.p.Close()
				b.StartTimer()
			}
			n := float64(b.N * benchMachines)
			b.ReportMetric(float64(tl.Nanoseconds())/n, "ns/machine")
			b.ReportMetric(float64(plan.Nanoseconds())/n, "plan-ns/machine")
			b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-ns/machine")
			b.ReportMetric(float64(tl)/float64(raw), "x-raw")
			b.Logf("%d machines: tailab %.3f ms/machine (plan %.3f), raw libvirt calls %.3f ms/machine, ratio %.1f",
				benchMachines, float64(tl.Microseconds())/n/1000, float64(plan.Microseconds())/n/1000,
				float64(raw.Microseconds())/n/1000, float64(tl)/float64(raw))
		})
	}
}

// benchRawXML precomputes the XML tailab defines, from a plan made by another
// provider on another fresh test host (a plan does not touch the host).
func benchRawXML(b *testing.B, h *tdHost, s *provision.Session, ins []*labs.Instance) (nets, doms []string) {
	b.Helper()
	other := New(h.p.cfg)
	defer other.Close()
	p, err := other.Plan(context.Background(), s, ins)
	if err != nil {
		b.Fatal(err)
	}
	d := p.Private.(*planDetail)
	for _, n := range d.Networks {
		nets = append(nets, n.XML)
	}
	for _, sp := range d.Specs {
		x, err := other.domainXML(sp)
		if err != nil {
			b.Fatal(err)
		}
		doms = append(doms, x)
	}
	return nets, doms
}

// benchRaw defines and starts the networks and domains on a fresh test host,
// one call after the other, and returns how long it took. The host is freed
// when it returns (its connection was the only one).
func benchRaw(b *testing.B, nets, doms []string) time.Duration {
	b.Helper()
	c, err := lv.NewConnect(testDriverURI)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	t0 := time.Now()
	for _, x := range nets {
		n, err := c.NetworkDefineXML(x)
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Create(); err != nil {
			b.Fatal(err)
		}
		n.Free()
	}
	for _, x := range doms {
		d, err := c.DomainDefineXML(x)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Create(); err != nil {
			b.Fatal(err)
		}
		d.Free()
	}
	return time.Since(t0)
}
