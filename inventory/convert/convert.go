// Package convert turns Kubernetes API objects (the k8s.io/api types) into
// the plain inventory model: one home for the conversion, whatever read
// the objects (inventory/dump from kubectl's output, inventory/kube from
// the live API). Every object is treated as hostile: names and labels must
// pass record's rules, and an object that does not is an error naming it.
package convert

import (
	"fmt"
	"net/netip"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/k8svalid"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/record"
)

// For returns a fresh object of the kind and the function that adds
// it to the builder once decoded; nil for a kind the inventory does not
// use.
func For(group, kind string) (any, func(*inventory.Builder) error) {
	switch {
	case group == "" && kind == "Namespace":
		return decodeInto(namespace)
	case group == "" && kind == "Node":
		return decodeInto(node)
	case group == "" && kind == "Pod":
		return decodeInto(pod)
	case group == "" && kind == "Service":
		return decodeInto(service)
	case group == "apps" && kind == "Deployment":
		return decodeInto(func(b *inventory.Builder, o *appsv1.Deployment) error {
			return workload(b, inventory.KindDeployment, o.ObjectMeta, o.Spec.Selector, o.Spec.Template.Labels)
		})
	case group == "apps" && kind == "StatefulSet":
		return decodeInto(func(b *inventory.Builder, o *appsv1.StatefulSet) error {
			return workload(b, inventory.KindStatefulSet, o.ObjectMeta, o.Spec.Selector, o.Spec.Template.Labels)
		})
	case group == "apps" && kind == "DaemonSet":
		return decodeInto(func(b *inventory.Builder, o *appsv1.DaemonSet) error {
			return workload(b, inventory.KindDaemonSet, o.ObjectMeta, o.Spec.Selector, o.Spec.Template.Labels)
		})
	case group == "apps" && kind == "ReplicaSet":
		return decodeInto(func(b *inventory.Builder, o *appsv1.ReplicaSet) error {
			return workload(b, inventory.KindReplicaSet, o.ObjectMeta, o.Spec.Selector, o.Spec.Template.Labels)
		})
	case group == "batch" && kind == "Job":
		return decodeInto(func(b *inventory.Builder, o *batchv1.Job) error {
			return workload(b, inventory.KindJob, o.ObjectMeta, o.Spec.Selector, o.Spec.Template.Labels)
		})
	case group == "batch" && kind == "CronJob":
		return decodeInto(cronJob)
	case group == "cilium.io" && kind == "CiliumEndpoint":
		return decodeInto(endpoint)
	case group == "networking.k8s.io" && kind == "NetworkPolicy":
		return decodeInto(networkPolicy)
	}
	return nil, nil
}

// decodeInto returns a fresh T to decode into and the function that adds
// it to the builder once decoded.
func decodeInto[T any](add func(*inventory.Builder, *T) error) (any, func(*inventory.Builder) error) {
	o := new(T)
	return o, func(b *inventory.Builder) error { return add(b, o) }
}

// checkMeta validates an object's namespace (when namespaced), name and
// labels by record's rules.
func checkMeta(m metav1.ObjectMeta, namespaced bool) error {
	if namespaced && !record.ValidNamespace(m.Namespace) {
		return fmt.Errorf("namespace %s of %s is not a valid namespace name", quote(m.Namespace), quote(m.Name))
	}
	if !record.ValidName(m.Name) {
		return fmt.Errorf("name %s is not a valid Kubernetes name", quote(m.Name))
	}
	return checkLabels(m.Name, m.Labels)
}

func checkLabels(of string, labels map[string]string) error {
	for k, v := range labels {
		if !record.ValidLabel(k, v) {
			return fmt.Errorf("%s: label %s=%s is not a valid Kubernetes label", quote(of), quote(k), quote(v))
		}
	}
	return nil
}

// quote is a name from input for an error: quoted, escaped and short.
func quote(s string) string { return escape.Snippet(s, 64) }

func owner(m metav1.ObjectMeta) (inventory.Ref, error) {
	var r inventory.Ref
	for _, o := range m.OwnerReferences {
		if r.Kind == "" || (o.Controller != nil && *o.Controller) {
			r = inventory.Ref{Kind: o.Kind, Name: o.Name}
		}
	}
	if r.Kind != "" && (!record.ValidName(r.Name) || !ValidKind(r.Kind)) {
		return r, fmt.Errorf("%s: owner %s/%s is not a valid kind and name", quote(m.Name), quote(r.Kind), quote(r.Name))
	}
	return r, nil
}

// ValidKind reports a Kubernetes kind: an upper-case letter, then letters
// and digits, at most 63 bytes.
func ValidKind(s string) bool {
	if s == "" || len(s) > 63 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func namespace(b *inventory.Builder, o *corev1.Namespace) error {
	if !record.ValidNamespace(o.Name) {
		return fmt.Errorf("name %s is not a valid namespace name", quote(o.Name))
	}
	if err := checkLabels(o.Name, o.Labels); err != nil {
		return err
	}
	b.AddNamespace(inventory.Namespace{Name: o.Name, Labels: o.Labels})
	return nil
}

func node(b *inventory.Builder, o *corev1.Node) error {
	if err := checkMeta(o.ObjectMeta, false); err != nil {
		return err
	}
	n := inventory.Node{Name: o.Name}
	for _, a := range o.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			return fmt.Errorf("node %s: address %s is not an IP address", quote(o.Name), quote(a.Address))
		}
		n.Addresses = append(n.Addresses, ip.Unmap())
	}
	cidrs := o.Spec.PodCIDRs
	if len(cidrs) == 0 && o.Spec.PodCIDR != "" {
		cidrs = []string{o.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("node %s: pod CIDR %s is not a prefix", quote(o.Name), quote(c))
		}
		n.PodCIDRs = append(n.PodCIDRs, p.Masked())
	}
	b.AddNode(n)
	return nil
}

func proto(p corev1.Protocol) string {
	if p == "" {
		return string(corev1.ProtocolTCP)
	}
	return string(p)
}

func validProto(p string) bool { return p == "TCP" || p == "UDP" || p == "SCTP" }

func pod(b *inventory.Builder, o *corev1.Pod) error {
	if err := checkMeta(o.ObjectMeta, true); err != nil {
		return err
	}
	own, err := owner(o.ObjectMeta)
	if err != nil {
		return err
	}
	if o.Spec.NodeName != "" && !record.ValidName(o.Spec.NodeName) {
		return fmt.Errorf("pod %s: node name %s is not a valid Kubernetes name", quote(o.Name), quote(o.Spec.NodeName))
	}
	p := inventory.Pod{Namespace: o.Namespace, Name: o.Name, Labels: o.Labels, Owner: own, HostNetwork: o.Spec.HostNetwork,
		NodeName: o.Spec.NodeName, Phase: string(o.Status.Phase)}
	ips := o.Status.PodIPs
	if len(ips) == 0 && o.Status.PodIP != "" {
		ips = []corev1.PodIP{{IP: o.Status.PodIP}}
	}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip.IP)
		if err != nil {
			return fmt.Errorf("pod %s: pod IP %s is not an IP address", quote(o.Name), quote(ip.IP))
		}
		p.IPs = append(p.IPs, a.Unmap())
	}
	for _, c := range append(o.Spec.InitContainers, o.Spec.Containers...) {
		for _, cp := range c.Ports {
			if cp.Name == "" {
				continue
			}
			if !record.ValidPortName(cp.Name) || !validProto(proto(cp.Protocol)) || cp.ContainerPort < 1 || cp.ContainerPort > 65535 {
				return fmt.Errorf("pod %s: container port %s %s/%d is not a valid named port", quote(o.Name), quote(cp.Name), quote(string(cp.Protocol)), cp.ContainerPort)
			}
			p.Ports = append(p.Ports, inventory.NamedPort{Name: cp.Name, Proto: proto(cp.Protocol), Port: uint16(cp.ContainerPort)})
		}
	}
	b.AddPod(p)
	return nil
}

// selector returns a label selector's matchLabels and whether they are
// all of it (no matchExpressions). A nil selector selects nothing here.
func selector(of string, s *metav1.LabelSelector) (map[string]string, bool, error) {
	if s == nil {
		return nil, false, nil
	}
	if err := checkLabels(of, s.MatchLabels); err != nil {
		return nil, false, err
	}
	return s.MatchLabels, len(s.MatchExpressions) == 0, nil
}

func workload(b *inventory.Builder, kind string, m metav1.ObjectMeta, sel *metav1.LabelSelector, template map[string]string) error {
	if err := checkMeta(m, true); err != nil {
		return err
	}
	own, err := owner(m)
	if err != nil {
		return err
	}
	ml, exact, err := selector(m.Name, sel)
	if err != nil {
		return err
	}
	if err := checkLabels(m.Name, template); err != nil {
		return err
	}
	b.AddWorkload(inventory.Workload{Kind: kind, Namespace: m.Namespace, Name: m.Name, Selector: ml, SelectorExact: exact && len(ml) > 0,
		Template: template, Owner: own})
	return nil
}

// validSchedule bounds a CronJob's schedule and time zone to what can be
// shown: printable ASCII of sane length.
func validSchedule(s string, n int) bool {
	if len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func cronJob(b *inventory.Builder, o *batchv1.CronJob) error {
	if err := checkMeta(o.ObjectMeta, true); err != nil {
		return err
	}
	tmpl := o.Spec.JobTemplate.Spec.Template.Labels
	if err := checkLabels(o.Name, tmpl); err != nil {
		return err
	}
	w := inventory.Workload{Kind: inventory.KindCronJob, Namespace: o.Namespace, Name: o.Name, Template: tmpl, Schedule: o.Spec.Schedule}
	if o.Spec.TimeZone != nil {
		w.TimeZone = *o.Spec.TimeZone
	}
	if !validSchedule(w.Schedule, 256) || !validSchedule(w.TimeZone, 64) {
		return fmt.Errorf("cronjob %s: schedule %s (time zone %s) is not a cron schedule", quote(o.Name), quote(w.Schedule), quote(w.TimeZone))
	}
	if o.Spec.Suspend != nil {
		w.Suspended = *o.Spec.Suspend
	}
	if o.Status.LastScheduleTime != nil {
		w.LastSchedule = o.Status.LastScheduleTime.UTC()
	}
	b.AddWorkload(w)
	return nil
}

func service(b *inventory.Builder, o *corev1.Service) error {
	if err := checkMeta(o.ObjectMeta, true); err != nil {
		return err
	}
	if err := checkLabels(o.Name, o.Spec.Selector); err != nil {
		return err
	}
	s := inventory.Service{Namespace: o.Namespace, Name: o.Name, Selector: o.Spec.Selector}
	ips := o.Spec.ClusterIPs
	if len(ips) == 0 && o.Spec.ClusterIP != "" {
		ips = []string{o.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if ip == corev1.ClusterIPNone {
			continue
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("service %s: cluster IP %s is not an IP address", quote(o.Name), quote(ip))
		}
		s.ClusterIPs = append(s.ClusterIPs, a)
	}
	for _, p := range o.Spec.Ports {
		if p.Port < 1 || p.Port > 65535 || !validProto(proto(p.Protocol)) {
			return fmt.Errorf("service %s: port %s/%d is not a valid port", quote(o.Name), quote(string(p.Protocol)), p.Port)
		}
		if p.Name != "" && !k8svalid.DNS1123Label(p.Name) {
			return fmt.Errorf("service %s: port name %s is not a valid port name", quote(o.Name), quote(p.Name))
		}
		sp := inventory.ServicePort{Name: p.Name, Proto: proto(p.Protocol), Port: uint16(p.Port)}
		switch {
		case p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "":
			sp.TargetPort = sp.Port
		case p.TargetPort.StrVal != "":
			if !record.ValidPortName(p.TargetPort.StrVal) {
				return fmt.Errorf("service %s: target port %s is not a valid port name", quote(o.Name), quote(p.TargetPort.StrVal))
			}
			sp.TargetName = p.TargetPort.StrVal
		case p.TargetPort.IntVal < 1 || p.TargetPort.IntVal > 65535:
			return fmt.Errorf("service %s: target port %d is not a valid port", quote(o.Name), p.TargetPort.IntVal)
		default:
			sp.TargetPort = uint16(p.TargetPort.IntVal)
		}
		s.Ports = append(s.Ports, sp)
	}
	b.AddService(s)
	return nil
}

func networkPolicy(b *inventory.Builder, o *networkingv1.NetworkPolicy) error {
	if err := checkMeta(o.ObjectMeta, true); err != nil {
		return err
	}
	sel := o.Spec.PodSelector
	ml, _, err := selector(o.Name, &sel)
	if err != nil {
		return err
	}
	p := inventory.NetworkPolicy{Namespace: o.Namespace, Name: o.Name, PodSelector: ml, SelectorExact: len(sel.MatchExpressions) == 0}
	if len(o.Spec.PolicyTypes) == 0 {
		p.Ingress, p.Egress = true, len(o.Spec.Egress) > 0
	}
	for _, t := range o.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.Ingress = true
		case networkingv1.PolicyTypeEgress:
			p.Egress = true
		}
	}
	b.AddPolicy(p)
	return nil
}

// ciliumEndpoint is the part of a cilium.io/v2 CiliumEndpoint the
// inventory reads, in the CRD's JSON shape (cilium's
// pkg/k8s/apis/cilium.io/v2: EndpointStatus, EndpointIdentity,
// EndpointNetworking, AddressPair); Cilium's own types stay out of this
// module.
type ciliumEndpoint struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Status            struct {
		Identity *struct {
			ID int64 `json:"id,omitempty"`
		} `json:"identity,omitempty"`
		Networking *struct {
			Addressing []*struct {
				IPV4 string `json:"ipv4,omitempty"`
				IPV6 string `json:"ipv6,omitempty"`
			} `json:"addressing,omitempty"`
		} `json:"networking,omitempty"`
	} `json:"status,omitempty"`
}

func endpoint(b *inventory.Builder, o *ciliumEndpoint) error {
	if err := checkMeta(o.ObjectMeta, true); err != nil {
		return err
	}
	e := inventory.CiliumEndpoint{Namespace: o.Namespace, Name: o.Name}
	if o.Status.Identity != nil {
		e.Identity = o.Status.Identity.ID
	}
	if n := o.Status.Networking; n != nil {
		for _, pair := range n.Addressing {
			if pair == nil {
				continue
			}
			for _, ip := range []string{pair.IPV4, pair.IPV6} {
				if ip == "" {
					continue
				}
				a, err := netip.ParseAddr(ip)
				if err != nil {
					return fmt.Errorf("ciliumendpoint %s: address %s is not an IP address", quote(o.Name), quote(ip))
				}
				e.IPs = append(e.IPs, a.Unmap())
			}
		}
	}
	b.AddEndpoint(e)
	return nil
}
