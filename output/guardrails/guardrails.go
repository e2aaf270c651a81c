// Package guardrails writes the cluster-wide guardrails of the k8s flavor
// (--guardrails, --baseline-deny) as AdminNetworkPolicy and
// BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, the
// Network Policy API): an AdminNetworkPolicy that denies every pod the cloud
// credential endpoints (with a Pass for their DNS ports and one for each
// named opt-in), and optionally the BaselineAdminNetworkPolicy "default"
// with default-deny for the application namespaces. The objects are small
// structs of our own whose JSON tags match sigs.k8s.io/network-policy-api
// (tests/cilium decodes them strictly into its types). Cilium does not
// enforce these kinds: its flavor writes a CiliumClusterwideNetworkPolicy.
package guardrails

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API group/version and kinds.
const (
	APIVersion     = "policy.networking.k8s.io/v1alpha1"
	KindANP        = "AdminNetworkPolicy"
	KindBANP       = "BaselineAdminNetworkPolicy"
	NamespaceLabel = "kubernetes.io/metadata.name"
)

// Names, files and priorities.
const (
	// BaselineFile is the BaselineAdminNetworkPolicy's file inside
	// output.ClusterDir (the guard's is output.GuardFile).
	BaselineFile = "02-baseline-default-deny.yaml"
	GuardName    = "flowfence-metadata-guard"
	// BaselineName is the only name a BaselineAdminNetworkPolicy may have.
	BaselineName = "default"
	// GuardPriority is the guard's priority (0-1000, lower wins): it comes
	// before every AdminNetworkPolicy with a larger number; one with a
	// smaller number that allows a guarded address would win over it.
	GuardPriority = 10
	// OptInPriority is the priority of the opt-in Pass policies: they must
	// be evaluated before the guard.
	OptInPriority = GuardPriority - 1
)

// Rule actions.
const (
	ActionAllow = "Allow"
	ActionDeny  = "Deny"
	ActionPass  = "Pass"
)

// ANP is an AdminNetworkPolicy or BaselineAdminNetworkPolicy (a BANP has
// no priority and no Pass).
type ANP struct {
	output.ObjectHead
	Spec Spec `json:"spec"`
}

// Spec is AdminNetworkPolicySpec / BaselineAdminNetworkPolicySpec.
type Spec struct {
	Priority *int32        `json:"priority,omitempty"`
	Subject  Subject       `json:"subject"`
	Ingress  []IngressRule `json:"ingress,omitempty"`
	Egress   []EgressRule  `json:"egress,omitempty"`
}

// Subject is AdminNetworkPolicySubject: exactly one of the two.
type Subject struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *NamespacedPods       `json:"pods,omitempty"`
}

// NamespacedPods is NamespacedPod.
type NamespacedPods struct {
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       metav1.LabelSelector `json:"podSelector"`
}

// IngressRule is AdminNetworkPolicyIngressRule.
type IngressRule struct {
	Name   string        `json:"name,omitempty"`
	Action string        `json:"action"`
	From   []IngressPeer `json:"from"`
	Ports  *[]Port       `json:"ports,omitempty"`
}

// EgressRule is AdminNetworkPolicyEgressRule.
type EgressRule struct {
	Name   string       `json:"name,omitempty"`
	Action string       `json:"action"`
	To     []EgressPeer `json:"to"`
	Ports  *[]Port      `json:"ports,omitempty"`
}

// IngressPeer is AdminNetworkPolicyIngressPeer.
type IngressPeer struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *NamespacedPods       `json:"pods,omitempty"`
}

// EgressPeer is AdminNetworkPolicyEgressPeer (the members flowfence uses).
type EgressPeer struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Networks   []string              `json:"networks,omitempty"`
}

// Port is AdminNetworkPolicyPort (port numbers only).
type Port struct {
	PortNumber *PortNumber `json:"portNumber,omitempty"`
}

// PortNumber is Port: a protocol and a number.
type PortNumber struct {
	Protocol string `json:"protocol"`
	Port     int32  `json:"port"`
}

// Options select the objects.
type Options struct {
	// Guard writes the metadata-guard AdminNetworkPolicy (--guardrails).
	Guard bool
	// Baseline writes the BaselineAdminNetworkPolicy "default"
	// (--baseline-deny).
	Baseline bool
}

// Formatter wraps the k8s formatter and adds output.ClusterDir with the
// guardrails. Its name stays the wrapped one ("k8s"), so the pipeline's
// NetworkPolicy self-check still runs (on the namespace directories).
type Formatter struct {
	Base output.Formatter
	Options
}

// Name returns the wrapped formatter's name.
func (f Formatter) Name() string { return f.Base.Name() }

// Render renders the wrapped flavor and adds the guardrails.
func (f Formatter) Render(set *policy.Set) (output.Tree, error) {
	t, err := f.Base.Render(set)
	if err != nil {
		return nil, err
	}
	if err := Add(t, set, f.Options); err != nil {
		return nil, err
	}
	return t, nil
}

// Add writes output.ClusterDir/ with the selected objects into t.
func Add(t output.Tree, set *policy.Set, o Options) error {
	var files []string
	if o.Guard {
		objs, comments := Guard(set)
		b, err := output.ClusterObjects(objs, kindName, Validate, func(i int, obj *ANP) ([]byte, error) { return Marshal(obj, comments[i]) })
		if err != nil {
			return err
		}
		t[output.ClusterDir+"/"+output.GuardFile] = b
		files = append(files, output.GuardFile)
	}
	if o.Baseline {
		obj, comment := Baseline(set)
		b, err := output.ClusterObjects([]*ANP{obj}, kindName, Validate, func(_ int, obj *ANP) ([]byte, error) { return Marshal(obj, comment) })
		if err != nil {
			return err
		}
		t[output.ClusterDir+"/"+BaselineFile] = b
		files = append(files, BaselineFile)
	}
	if len(files) > 0 {
		t[output.ClusterDir+"/"+output.KustomizationFile] = output.Kustomization("", files,
			"policy.networking.k8s.io objects need the Network Policy API CRDs and a CNI that enforces them.")
	}
	return nil
}

// kindName names an object in the error of an invalid one.
func kindName(obj *ANP) string { return obj.Kind + " " + obj.Metadata.Name }

func prio(p int32) *int32 { return &p }

// Guard returns the metadata-guard AdminNetworkPolicies, opt-ins first,
// with their header comments. The guard's subject is every namespace; its
// rules, evaluated in order (first match wins): Pass the DNS ports of the
// guarded addresses that serve DNS (GKE Cloud DNS, Azure DNS: on to
// NetworkPolicy, which the DNS bundle allows), then Deny the guarded
// addresses on every port and protocol. A named opt-in is an
// AdminNetworkPolicy of higher precedence (OptInPriority) whose subject is
// exactly that workload's pods and whose one rule Passes the address (on
// the opted-in port): the guard never sees that traffic and the
// namespace's NetworkPolicy, which admits it, decides.
func Guard(set *policy.Set) ([]*ANP, [][]string) {
	g := &set.Guard
	var objs []*ANP
	var comments [][]string
	type optIn struct {
		ns, workload string
		sel          map[string]string
		rules        []EgressRule
	}
	optIns := map[string]*optIn{}
	for _, o := range g.OptIns {
		key := o.Namespace + "/" + o.Workload
		sel, ok := g.OptInSelectors[key]
		a, err := netip.ParseAddr(o.Address)
		if !ok || err != nil {
			continue // cannot be selected: reported by synth; the guard keeps blocking it
		}
		oi := optIns[key]
		if oi == nil {
			oi = &optIn{ns: o.Namespace, workload: o.Workload, sel: sel}
			optIns[key] = oi
		}
		r := EgressRule{Name: ruleName("opt-in-" + a.String()), Action: ActionPass,
			To: []EgressPeer{{Networks: []string{netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()}}}}
		if o.Port != 0 {
			r.Name = ruleName(fmt.Sprintf("opt-in-%s-port-%d", a, o.Port))
			r.Ports = &[]Port{{PortNumber: &PortNumber{Protocol: "TCP", Port: int32(o.Port)}}, {PortNumber: &PortNumber{Protocol: "UDP", Port: int32(o.Port)}}}
		}
		if !slices.ContainsFunc(oi.rules, func(x EgressRule) bool { return x.Name == r.Name }) {
			oi.rules = append(oi.rules, r)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(optIns)) {
		oi := optIns[key]
		slices.SortFunc(oi.rules, func(a, b EgressRule) int { return strings.Compare(a.Name, b.Name) })
		objs = append(objs, &ANP{ObjectHead: output.Head(APIVersion, KindANP, optInName(oi.ns, oi.workload), ""), Spec: Spec{
			Priority: prio(OptInPriority),
			Subject: Subject{Pods: &NamespacedPods{
				NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{NamespaceLabel: oi.ns}},
				PodSelector:       metav1.LabelSelector{MatchLabels: maps.Clone(oi.sel)},
			}},
			Egress: oi.rules,
		}})
		comments = append(comments, []string{
			fmt.Sprintf("Metadata opt-in (config metadata.allow) for %s: its pods' calls to the named address pass the guard", key),
			fmt.Sprintf("(priority %d, before the guard's %d) and are decided by the namespace's NetworkPolicy.", OptInPriority, GuardPriority),
		})
	}

	// the guard
	dns := map[string][]string{} // DNS port list → networks
	var all []string
	for _, a := range g.Addresses {
		cidr := netip.PrefixFrom(a.Addr, a.Addr.BitLen()).String()
		all = append(all, cidr)
		if len(a.DNSPorts) > 0 {
			var ps []string
			for _, p := range a.DNSPorts {
				ps = append(ps, fmt.Sprint(p))
			}
			k := strings.Join(ps, ",")
			dns[k] = append(dns[k], cidr)
		}
	}
	slices.Sort(all)
	var rules []EgressRule
	for _, k := range slices.Sorted(maps.Keys(dns)) {
		nets := dns[k]
		slices.Sort(nets)
		var ports []Port
		for _, ps := range strings.Split(k, ",") {
			var n int32
			fmt.Sscan(ps, &n)
			ports = append(ports, Port{PortNumber: &PortNumber{Protocol: "TCP", Port: n}}, Port{PortNumber: &PortNumber{Protocol: "UDP", Port: n}})
		}
		rules = append(rules, EgressRule{Name: ruleName("pass-dns-port-" + strings.ReplaceAll(k, ",", "-")), Action: ActionPass,
			To: []EgressPeer{{Networks: nets}}, Ports: &ports})
	}
	rules = append(rules, EgressRule{Name: "deny-cloud-metadata", Action: ActionDeny, To: []EgressPeer{{Networks: all}}})
	objs = append(objs, &ANP{ObjectHead: output.Head(APIVersion, KindANP, GuardName, ""), Spec: Spec{
		Priority: prio(GuardPriority),
		Subject:  Subject{Namespaces: &metav1.LabelSelector{}},
		Egress:   rules,
	}})
	c := []string{
		fmt.Sprintf("Cluster-wide metadata guard (cloud profile %s): every pod of every namespace is denied the cloud", g.Cloud),
		"credential endpoints, whatever a NetworkPolicy allows. Rules apply in order: DNS ports of an address that also",
		fmt.Sprintf("serves DNS pass on to NetworkPolicy, everything else to the addresses is denied. Priority %d: an", GuardPriority),
		"AdminNetworkPolicy with a smaller number that allows these addresses would win (kubectl get anp).",
		"Enforced by CNIs that implement AdminNetworkPolicy (not Cilium: use the cilium flavor's guard there).",
	}
	for _, a := range g.Addresses {
		c = append(c, "  "+a.Addr.String()+": "+a.What)
	}
	for _, o := range g.OptIns {
		if _, ok := g.OptInSelectors[o.Namespace+"/"+o.Workload]; !ok {
			c = append(c, "  opt-in "+o.Namespace+"/"+o.Workload+" → "+o.Address+": the workload cannot be selected, so it stays denied (see ROLLOUT.md findings)")
		}
	}
	comments = append(comments, c)
	return objs, comments
}

// Baseline returns the BaselineAdminNetworkPolicy "default": default-deny
// for the application namespaces of the set, in the baseline tier (after
// NetworkPolicy): a pod that no NetworkPolicy isolates is denied all
// ingress from pods and all egress.
func Baseline(set *policy.Set) (*ANP, []string) {
	var nss []string
	for _, ns := range set.Namespaces {
		nss = append(nss, ns.Name)
	}
	slices.Sort(nss)
	subject := Subject{Namespaces: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: NamespaceLabel, Operator: metav1.LabelSelectorOpIn, Values: nss}}}}
	if len(nss) == 0 {
		// no application namespace: select none rather than every namespace
		subject = Subject{Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceLabel: "flowfence-no-application-namespace"}}}
	}
	obj := &ANP{ObjectHead: output.Head(APIVersion, KindBANP, BaselineName, ""), Spec: Spec{
		Subject: subject,
		Ingress: []IngressRule{{Name: "default-deny-ingress", Action: ActionDeny, From: []IngressPeer{{Namespaces: &metav1.LabelSelector{}}}}},
		Egress:  []EgressRule{{Name: "default-deny-egress", Action: ActionDeny, To: []EgressPeer{{Networks: []string{"0.0.0.0/0", "::/0"}}}}},
	}}
	return obj, []string{
		"Baseline default-deny, the cluster-wide alternative to each namespace's 00-default-deny.yaml: for the",
		"application namespaces of this tree, traffic that no NetworkPolicy decides is denied (egress to every",
		"address, ingress from every pod). NetworkPolicies are evaluated first, so the namespace policies still",
		"allow what was observed. Ingress from outside the cluster is not covered (BaselineAdminNetworkPolicy",
		"ingress peers are pods only): keep 00-default-deny.yaml for that. The only allowed name is \"default\".",
		"Enforced by CNIs that implement BaselineAdminNetworkPolicy (not Cilium).",
	}
}

func optInName(ns, workload string) string {
	n := "flowfence-metadata-opt-in-" + dns1123(ns) + "-" + dns1123(workload)
	if len(n) > 253 {
		n = strings.TrimRight(n[:253], "-.")
	}
	return n
}

func ruleName(s string) string {
	s = strings.NewReplacer(":", "-", ".", "-").Replace(s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

func dns1123(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-.")
}

// Marshal renders the object with its header comment.
func Marshal(obj *ANP, comment []string) ([]byte, error) {
	return output.Marshal(obj, obj.Kind, obj.Metadata.Name, comment, nil, output.GeneratedCluster, nil)
}

// Validate applies the checks of the Network Policy API CRDs that matter
// for what flowfence writes: name, priority 0-1000, exactly one subject,
// actions per kind, 1-100 peers, exactly one member per peer, 1-25 valid
// networks, port numbers 1-65535 with TCP/UDP/SCTP, rule names of at most
// 100 characters, and the BANP's fixed name.
func Validate(obj *ANP) error {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	errs = append(errs, obj.CheckHead(APIVersion)...)
	actions := []string{ActionAllow, ActionDeny}
	switch obj.Kind {
	case KindANP:
		actions = append(actions, ActionPass)
		if obj.Spec.Priority == nil || *obj.Spec.Priority < 0 || *obj.Spec.Priority > 1000 {
			add("spec.priority: required, 0-1000")
		}
	case KindBANP:
		if obj.Metadata.Name != BaselineName {
			add("metadata.name %q: a BaselineAdminNetworkPolicy must be named %q", obj.Metadata.Name, BaselineName)
		}
		if obj.Spec.Priority != nil {
			add("spec.priority: not a BaselineAdminNetworkPolicy field")
		}
	default:
		add("kind %q: want %s or %s", obj.Kind, KindANP, KindBANP)
	}
	if (obj.Spec.Subject.Namespaces == nil) == (obj.Spec.Subject.Pods == nil) {
		add("spec.subject: exactly one of namespaces and pods")
	}
	// every selector's labels and values must be valid Kubernetes labels
	// (they come from observed pods and config opt-ins)
	sels := map[string]*metav1.LabelSelector{"spec.subject.namespaces": obj.Spec.Subject.Namespaces}
	if p := obj.Spec.Subject.Pods; p != nil {
		sels["spec.subject.pods.namespaceSelector"], sels["spec.subject.pods.podSelector"] = &p.NamespaceSelector, &p.PodSelector
	}
	for _, where := range slices.Sorted(maps.Keys(sels)) {
		ls := sels[where]
		if ls == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(ls.MatchLabels)) {
			if !record.ValidLabel(k, ls.MatchLabels[k]) {
				add("%s.matchLabels: %s=%s is not a valid label", where, escape.Snippet(k, 64), escape.Snippet(ls.MatchLabels[k], 64))
			}
		}
		for _, r := range ls.MatchExpressions {
			for _, v := range r.Values {
				if !record.ValidLabel(r.Key, v) {
					add("%s.matchExpressions: %s=%s is not a valid label", where, escape.Snippet(r.Key, 64), escape.Snippet(v, 64))
				}
			}
		}
	}
	if len(obj.Spec.Ingress) > 100 || len(obj.Spec.Egress) > 100 {
		add("spec: at most 100 rules per direction")
	}
	check := func(where, name, action string, npeers int, ports *[]Port) {
		if len(name) > 100 {
			add("%s.name: longer than 100 characters", where)
		}
		if !slices.Contains(actions, action) {
			add("%s.action %q: one of %v", where, action, actions)
		}
		if npeers < 1 || npeers > 100 {
			add("%s: 1-100 peers", where)
		}
		if ports != nil {
			if len(*ports) < 1 || len(*ports) > 100 {
				add("%s.ports: 1-100 entries", where)
			}
			for j, p := range *ports {
				switch {
				case p.PortNumber == nil:
					add("%s.ports[%d]: portNumber required", where, j)
				case p.PortNumber.Port < 1 || p.PortNumber.Port > 65535:
					add("%s.ports[%d].portNumber.port %d: 1-65535", where, j, p.PortNumber.Port)
				case !slices.Contains([]string{"TCP", "UDP", "SCTP"}, p.PortNumber.Protocol):
					add("%s.ports[%d].portNumber.protocol %q: TCP, UDP or SCTP", where, j, p.PortNumber.Protocol)
				}
			}
		}
	}
	for i, r := range obj.Spec.Ingress {
		w := fmt.Sprintf("spec.ingress[%d]", i)
		check(w, r.Name, r.Action, len(r.From), r.Ports)
		for j, p := range r.From {
			if (p.Namespaces == nil) == (p.Pods == nil) {
				add("%s.from[%d]: exactly one of namespaces and pods", w, j)
			}
		}
	}
	for i, r := range obj.Spec.Egress {
		w := fmt.Sprintf("spec.egress[%d]", i)
		check(w, r.Name, r.Action, len(r.To), r.Ports)
		for j, p := range r.To {
			n := 0
			if p.Namespaces != nil {
				n++
			}
			if p.Networks != nil {
				n++
				if len(p.Networks) < 1 || len(p.Networks) > 25 {
					add("%s.to[%d].networks: 1-25 entries", w, j)
				}
				for _, c := range p.Networks {
					if _, err := netip.ParsePrefix(c); err != nil {
						add("%s.to[%d].networks %q: %v", w, j, c, err)
					}
				}
			}
			if n != 1 {
				add("%s.to[%d]: exactly one peer member", w, j)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// RolloutNotes is the guardrails section of ROLLOUT.md.
func (f Formatter) RolloutNotes(set *policy.Set) []byte {
	var b bytes.Buffer
	if n, ok := f.Base.(output.RolloutNoter); ok {
		b.Write(n.RolloutNotes(set))
	}
	if !f.Guard && !f.Baseline {
		return b.Bytes()
	}
	b.WriteString("\n## Cluster-wide guardrails (AdminNetworkPolicy)\n\n")
	b.WriteString("`" + output.ClusterDir + "/` holds policy.networking.k8s.io/v1alpha1 objects (the Network Policy API): install its\n")
	b.WriteString("CRDs first. They are enforced by CNIs that implement the v1alpha1 API — e.g. OVN-Kubernetes, Antrea,\n")
	b.WriteString("recent Calico releases and kube-network-policies — but **not by Cilium**: on Cilium use `--format\n")
	b.WriteString("cilium`, whose CiliumClusterwideNetworkPolicy is the guard. Check what your CNI and its version\n")
	b.WriteString("support (the API is moving to ClusterNetworkPolicy, v1alpha2) before relying on them: a cluster\n")
	b.WriteString("without an implementation accepts the objects and enforces nothing.\n\n")
	b.WriteString("Apply them before the namespaces: `kubectl apply -k " + output.ClusterDir + "`; roll back with `kubectl delete -k " + output.ClusterDir + "`.\n\n")
	if f.Guard {
		fmt.Fprintf(&b, "- `%s` (AdminNetworkPolicy `%s`, priority %d; lower numbers win): every pod of every\n", output.GuardFile, GuardName, GuardPriority)
		b.WriteString("  namespace, system namespaces included, is denied the credential endpoints above, whatever a\n")
		b.WriteString("  NetworkPolicy allows. Its first rules Pass the DNS ports of addresses that also serve DNS (GKE\n")
		b.WriteString("  Cloud DNS, Azure DNS) to NetworkPolicy, so DNS keeps working. A named opt-in is an\n")
		fmt.Fprintf(&b, "  AdminNetworkPolicy at priority %d selecting exactly that workload, which Passes its address (and\n", OptInPriority)
		b.WriteString("  port) to the namespace's NetworkPolicy. An AdminNetworkPolicy of yours with a priority below\n")
		fmt.Fprintf(&b, "  %d that Allows these addresses would override the guard: `kubectl get anp`.\n", OptInPriority)
	}
	if f.Baseline {
		fmt.Fprintf(&b, "- `%s` (BaselineAdminNetworkPolicy `%s`): default-deny for the application namespaces of this\n", BaselineFile, BaselineName)
		b.WriteString("  tree, in the baseline tier: it applies only to traffic that no NetworkPolicy decides, so with it a\n")
		b.WriteString("  namespace stays default-deny even if its 00-default-deny.yaml is deleted, and the namespace policies\n")
		b.WriteString("  still allow what was observed. Its ingress covers pods only (ingress from outside the cluster is\n")
		b.WriteString("  not a BaselineAdminNetworkPolicy peer): keep 00-default-deny.yaml for that. There is one BANP per\n")
		b.WriteString("  cluster (named `default`): merge by hand if you already have one.\n")
	}
	b.WriteString("\n`flowfence verify` and `diff` judge the namespaced NetworkPolicies and skip `" + output.ClusterDir + "/`.\n")
	return b.Bytes()
}
