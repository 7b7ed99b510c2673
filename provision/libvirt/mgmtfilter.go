package libvirt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/tailab/tailab/provision/naming"
)

// The management path carries only the grader's connections. Two nftables
// tables in libvirtd's network namespace (where tailab runs: the grader dials
// the machines from there), measured in the lxc-containment recipe (section 6:
// the same protection as nwfilter's clean-traffic, 20 ms per container instead
// of 1.3-2.2 s per start):
//
//   - bridge tailab_mgmt: a frame that enters the bridge from a management
//     port (host-side name mgmtPortPrefix...) passes only with the port's own
//     MAC and IPv4 address (set ok4, one element per NIC, added before the
//     machine starts and removed when it is destroyed): no IP, ARP or MAC
//     spoofing, no other protocol; management ports never talk to each other
//     (as <port isolated='yes'/> already says);
//   - inet tailab_mgmt_host: on the management bridges (set bridges), the host
//     accepts only packets of connections it opened (the grader, readiness,
//     the gateway's shells: the host opens them all). Chain `gateway` is the
//     hook for anything the host must accept that a machine opens: it is empty,
//     and jumped to before the drop.
const (
	mgmtPortPrefix = "tlp"
	mgmtBridgeTab  = "tailab_mgmt"
	mgmtHostTab    = "tailab_mgmt_host"
)

var mgmtRuleset = `table bridge ` + mgmtBridgeTab + ` {
	set ok4 { type ifname . ether_addr . ipv4_addr; }
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname != "` + mgmtPortPrefix + `*" accept
		iifname . ether saddr . ip saddr @ok4 accept
		ether type arp iifname . ether saddr . arp saddr ip @ok4 iifname . arp saddr ether . arp saddr ip @ok4 accept
		counter drop
	}
	chain ports {
		type filter hook forward priority 0; policy accept;
		iifname "` + mgmtPortPrefix + `*" oifname "` + mgmtPortPrefix + `*" counter drop
	}
}
table inet ` + mgmtHostTab + ` {
	set bridges { type ifname; }
	chain gateway {
	}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname @bridges ct state established,related accept
		iifname @bridges jump gateway
		iifname @bridges counter drop
	}
}
`

// MgmtPortName is the host side of a machine's management NIC.
func MgmtPortName(domain string) string {
	h := sha256.Sum256([]byte(domain))
	return mgmtPortPrefix + hex.EncodeToString(h[:6])
}

var (
	mgmtTablesMu sync.Mutex
	// mgmtTablesOK holds the nft commands (as strings) whose namespace has
	// the tables: checked once per process, not before every machine.
	mgmtTablesOK = map[string]bool{}
)

// mgmtFiltered reports whether this provider filters the management path: the
// contained layout on a local daemon (nft runs in tailab's own namespace).
func (p *Provider) mgmtFiltered() bool {
	return p.contained() && p.localDaemon()
}

// nftCommand is nft in libvirtd's network namespace, where the bridges are
// (through nsenter when tailab runs in another one).
func (p *Provider) nftCommand(args ...string) *exec.Cmd {
	pid := p.daemonPID()
	theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	ours, _ := os.Readlink("/proc/self/ns/net")
	if pid > 0 && theirs != "" && theirs != ours {
		return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "nft"}, args...)...)
	}
	return exec.Command("nft", args...)
}

// nft runs an nft script.
func (p *Provider) nft(script string) error {
	cmd := p.nftCommand("-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// ensureMgmtTables creates the two tables unless they exist (all or nothing:
// one nft transaction; a concurrent creator makes it fail, and the check
// after tells that apart from a real error).
func (p *Provider) ensureMgmtTables() error {
	mgmtTablesMu.Lock()
	defer mgmtTablesMu.Unlock()
	ns := p.nftCommand().String()
	if mgmtTablesOK[ns] {
		return nil
	}
	defer p.timed("nft.tables", "")()
	if p.nftCommand("list", "table", "inet", mgmtHostTab).Run() == nil {
		mgmtTablesOK[ns] = true
		return nil
	}
	err := p.nft(mgmtRuleset)
	if err != nil && p.nftCommand("list", "table", "inet", mgmtHostTab).Run() == nil {
		err = nil
	}
	mgmtTablesOK[ns] = err == nil
	return err
}

// addMgmtBridge puts a session's management bridge under the input rule.
func (p *Provider) addMgmtBridge(session string) error {
	if !p.mgmtFiltered() {
		return nil
	}
	if err := p.ensureMgmtTables(); err != nil {
		return err
	}
	return p.nft(fmt.Sprintf("add element inet %s bridges { %q }\n", mgmtHostTab, naming.BridgeName(naming.MgmtNetworkName(session))))
}

// removeMgmtBridge takes a removed management network's bridge out of the set.
func (p *Provider) removeMgmtBridge(network string) {
	if p.mgmtFiltered() {
		_ = p.nft(fmt.Sprintf("delete element inet %s bridges { %q }\n", mgmtHostTab, naming.BridgeName(network)))
	}
}

// mgmtElement is a machine's management NIC in set ok4.
func mgmtElement(sp *machineSpec) (string, bool) {
	for _, n := range sp.NICs {
		if n.Isolated && n.Address != "" {
			return fmt.Sprintf("%q . %s . %s", MgmtPortName(sp.Domain), n.MAC, n.Address), true
		}
	}
	return "", false
}

// allowMgmtPort lets the machines' management NICs speak as themselves:
// before every start (adding an existing element is no error). Apply passes
// every machine it is about to start, in one transaction, and marks them
// (PortAllowed) so that their start does not run nft again.
func (p *Provider) allowMgmtPort(sps ...*machineSpec) error {
	if !p.mgmtFiltered() {
		return nil
	}
	var els []string
	for _, sp := range sps {
		if el, ok := mgmtElement(sp); ok && !sp.PortAllowed {
			els = append(els, el)
		}
	}
	if len(els) == 0 {
		return nil
	}
	if err := p.ensureMgmtTables(); err != nil {
		return err
	}
	if err := p.nft(fmt.Sprintf("add element bridge %s ok4 { %s }\n", mgmtBridgeTab, strings.Join(els, ", "))); err != nil {
		return err
	}
	for _, sp := range sps {
		sp.PortAllowed = true
	}
	return nil
}

// forgetMgmtPort removes the machines' elements (a later machine on the same
// port name must earn its own); absent is fine. One listing and one
// transaction for them all (`down` of a session); should the transaction
// fail (an element gone meanwhile), one by one.
func (p *Provider) forgetMgmtPort(domains ...string) {
	if !p.mgmtFiltered() || len(domains) == 0 {
		return
	}
	out, err := p.nftCommand("list", "set", "bridge", mgmtBridgeTab, "ok4").Output()
	if err != nil {
		return
	}
	ports := map[string]bool{}
	for _, d := range domains {
		ports[fmt.Sprintf("%q", MgmtPortName(d))] = true
	}
	var els []string
	for _, f := range strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == '{' || r == '}' || r == '\n' }) {
		f = strings.TrimSpace(f)
		if port, _, ok := strings.Cut(f, " . "); ok && ports[port] {
			els = append(els, f)
		}
	}
	if len(els) == 0 || p.nft(fmt.Sprintf("delete element bridge %s ok4 { %s }\n", mgmtBridgeTab, strings.Join(els, ", "))) == nil {
		return
	}
	for _, el := range els {
		_ = p.nft(fmt.Sprintf("delete element bridge %s ok4 { %s }\n", mgmtBridgeTab, el))
	}
}
