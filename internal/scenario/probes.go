package scenario

import "fmt"

// Peer is one end of a Probe: a pod of the Spec (Namespace and Pod set), or
// a non-pod peer (Entity set, with its IP).
type Peer struct {
	Namespace, Pod string // a pod of the Spec
	IP             string // for non-pod peers
	Entity         string // "", world, host, remote-node, kube-apiserver
}

// String renders the peer as "ns/pod" or "entity(ip)".
func (p Peer) String() string {
	if p.Pod != "" {
		return p.Namespace + "/" + p.Pod
	}
	if p.IP == "" {
		return p.Entity
	}
	return p.Entity + "(" + p.IP + ")"
}

// Probe is one question to ask of a policy set generated from the
// scenario's flows: may Src open a connection to Dst on Proto/Port?
type Probe struct {
	Name     string
	Src, Dst Peer
	Proto    string // TCP|UDP|SCTP|ICMPv4
	Port     int
	Allowed  bool
	Why      string
}

// Expected returns what a correct least-privilege policy set learnt from the
// scenario's flows must admit (Allowed) and refuse. Allowed probes cover
// every observed request edge of the application namespaces (shop,
// payments, data, monitoring, shop-staging), each with the pods that spoke
// and, where a workload has several replicas, with other replicas too.
// Kubelet probes (host → pod on its own node) are always allowed and need no
// rule: they are not listed. ICMP is in Inexpressible.
func Expected() []Probe {
	s := Cluster()
	pod := func(ns, workload string, i int) Peer {
		pods := s.WorkloadPods(ns, workload)
		if i < 0 {
			i += len(pods)
		}
		return Peer{Namespace: ns, Pod: pods[i].Name}
	}
	ent := func(entity, ip string) Peer { return Peer{Entity: entity, IP: ip} }
	world := func(ip string) Peer { return ent(EntityWorld, ip) }

	var out []Probe
	add := func(allowed bool, src, dst Peer, proto string, port int, why string) {
		out = append(out, Probe{
			Name:    fmt.Sprintf("%s -> %s %s/%d", src, dst, proto, port),
			Src:     src,
			Dst:     dst,
			Proto:   proto,
			Port:    port,
			Allowed: allowed,
			Why:     why,
		})
	}
	allow := func(src, dst Peer, proto string, port int, why string) { add(true, src, dst, proto, port, why) }
	deny := func(src, dst Peer, proto string, port int, why string) { add(false, src, dst, proto, port, why) }

	// 1. Public entrypoint.
	allow(world("203.0.113.50"), pod("shop", "frontend", 0), "TCP", 8080, "world clients call shop/frontend on 8080 (public entrypoint)")
	allow(world("198.51.100.77"), pod("shop", "frontend", 2), "TCP", 8080, "world clients call shop/frontend on 8080 (public entrypoint)")
	allow(world("192.0.2.77"), pod("shop", "frontend", 1), "TCP", 8080, "world-facing ingress admits any source on the observed port, not only the client IPs seen")

	// 2-6. In-cluster service graph.
	pairs := []struct {
		sns, swl, dns, dwl string
		port               int
		other              [2]int // replica indexes of the "other replicas" probe
		why                string
	}{
		{"shop", "frontend", "shop", "cart", 8080, [2]int{2, 1}, "observed: shop/frontend calls shop/cart"},
		{"shop", "frontend", "shop", "catalog", 8080, [2]int{1, 1}, "observed: shop/frontend calls shop/catalog HTTP"},
		{"shop", "frontend", "shop", "catalog", 9000, [2]int{2, 1}, "observed: shop/frontend calls shop/catalog gRPC"},
		{"shop", "cart", "data", "redis", 6379, [2]int{1, 2}, "observed: shop/cart uses data/redis (cross-namespace)"},
		{"shop", "catalog", "data", "postgres", 5432, [2]int{1, 1}, "observed: shop/catalog uses data/postgres (cross-namespace)"},
		{"shop", "frontend", "payments", "api", 8443, [2]int{1, 2}, "observed: shop/frontend calls payments/api (cross-namespace)"},
		{"payments", "api", "data", "postgres", 5432, [2]int{2, 1}, "observed: payments/api uses data/postgres (cross-namespace)"},
		{"payments", "worker", "payments", "api", 8443, [2]int{1, 2}, "observed only as verdict AUDIT (policy audit mode): must be learnt before enforcing"},
		{"shop-staging", "frontend", "shop-staging", "cart", 8080, [2]int{1, 0}, "observed in the last 20% of the window: shop-staging/frontend calls its own cart"},
		{"monitoring", "prometheus", "shop", "frontend", 9090, [2]int{0, 2}, "observed: Prometheus scrapes shop/frontend"},
		{"monitoring", "prometheus", "payments", "api", 9090, [2]int{0, 1}, "observed: Prometheus scrapes payments/api"},
	}
	for _, p := range pairs {
		allow(pod(p.sns, p.swl, 0), pod(p.dns, p.dwl, 0), "TCP", p.port, p.why)
		allow(pod(p.sns, p.swl, p.other[0]), pod(p.dns, p.dwl, p.other[1]), "TCP", p.port, p.why+" (other replicas than the ones that spoke most)")
	}

	// 7, 10. External egress.
	allow(pod("payments", "worker", 0), world(StripeIP), "TCP", 443, "observed: payments/worker calls api.stripe.com ("+StripeIP+")")
	allow(pod("payments", "worker", 1), world(StripeIP), "TCP", 443, "observed: payments/worker calls api.stripe.com ("+StripeIP+")")
	allow(pod("data", "backup", 0), world(BackupIP), "TCP", 443, "observed: data/backup uploads to backups.s3.example.com ("+BackupIP+"), name known from DNS only")

	// 9. Both runs of the report CronJob are one workload.
	allow(pod("shop", "report", 0), pod("payments", "api", 0), "TCP", 8443, "observed: the first run of CronJob shop/report calls payments/api")
	allow(pod("shop", "report", 1), pod("payments", "api", 2), "TCP", 8443, "observed: the second run of CronJob shop/report calls payments/api (every run is one workload)")

	// 11. Prometheus to nodes and the API server.
	allow(pod("monitoring", "prometheus", 0), ent(EntityRemoteNode, "10.0.0.12"), "TCP", 9100, "observed: Prometheus scrapes node-exporter (hostNetwork) on node-b")
	allow(pod("monitoring", "prometheus", 0), ent(EntityRemoteNode, "10.0.0.13"), "TCP", 9100, "observed: Prometheus scrapes node-exporter (hostNetwork) on node-c")
	allow(pod("monitoring", "prometheus", 0), ent(EntityHost, "10.0.0.11"), "TCP", 9100, "observed: Prometheus scrapes node-exporter on its own node (node-a)")
	allow(pod("monitoring", "prometheus", 0), ent(EntityKubeAPIServer, KubeAPIServerIP), "TCP", KubeAPIServerPort, "observed: Prometheus watches the API server")

	// 13. Admission webhook.
	allow(ent(EntityKubeAPIServer, KubeAPIServerIP), pod("payments", "api", 0), "TCP", 9443, "observed: the API server calls the payments/api admission webhook")
	allow(ent(EntityKubeAPIServer, KubeAPIServerIP), pod("payments", "api", 2), "TCP", 9443, "observed: the API server calls the payments/api admission webhook")

	// 12. DNS from every application workload.
	dnsClients := []struct{ ns, wl string }{
		{"shop", "frontend"}, {"shop", "cart"}, {"shop", "catalog"}, {"shop", "report"},
		{"payments", "api"}, {"payments", "worker"}, {"payments", "fraud"},
		{"data", "postgres"}, {"data", "redis"}, {"data", "backup"},
		{"monitoring", "prometheus"},
		{"shop-staging", "frontend"}, {"shop-staging", "cart"},
	}
	for _, c := range dnsClients {
		allow(pod(c.ns, c.wl, 0), pod("kube-system", "coredns", 0), "UDP", 53, "observed: DNS to kube-dns")
		if len(s.WorkloadPods(c.ns, c.wl)) > 1 {
			allow(pod(c.ns, c.wl, -1), pod("kube-system", "coredns", 1), "UDP", 53, "observed: DNS to kube-dns (other replicas)")
		}
	}
	allow(pod("shop", "catalog", 0), pod("kube-system", "coredns", 1), "TCP", 53, "observed: DNS over TCP to kube-dns")
	allow(pod("payments", "worker", 1), pod("kube-system", "coredns", 0), "TCP", 53, "observed: DNS over TCP to kube-dns")

	// Denied: never observed, or observed but not to be allowed.
	deny(pod("shop", "cart", 0), pod("data", "postgres", 0), "TCP", 5432, "unobserved pair: shop/cart talks to redis, not postgres")
	deny(pod("shop", "report", 0), pod("data", "postgres", 0), "TCP", 5432, "unobserved pair")
	deny(pod("data", "redis", 0), pod("shop", "frontend", 0), "TCP", 8080, "unobserved pair (data never calls shop)")
	deny(pod("monitoring", "prometheus", 0), pod("data", "redis", 0), "TCP", 9090, "unobserved: Prometheus scrapes only shop/frontend and payments/api")
	deny(pod("shop", "frontend", 0), pod("shop", "cart", 0), "TCP", 8081, "wrong port: shop/cart is called on 8080 only")
	deny(pod("shop", "frontend", 0), pod("shop", "cart", 0), "UDP", 8080, "wrong protocol: shop/cart is called over TCP only")
	deny(pod("shop", "frontend", 1), pod("data", "redis", 1), "TCP", 6379, "only ICMP echo was observed from shop/frontend to data/redis: ICMP must not become a TCP rule")
	deny(ent(EntityKubeAPIServer, KubeAPIServerIP), pod("payments", "api", 0), "TCP", 8443, "the API server calls the webhook port 9443 only")
	deny(pod("shop-staging", "frontend", 0), pod("shop", "cart", 0), "TCP", 8080, "look-alike labels in another namespace; this is the denied attempt (client node FORWARDED, server node DROPPED POLICY_DENIED, never answered): report, never learn")
	deny(pod("shop-staging", "frontend", 1), pod("payments", "api", 0), "TCP", 8443, "look-alike labels: shop-staging/frontend has the labels of shop/frontend but is another workload")
	deny(pod("shop-staging", "cart", 0), pod("data", "redis", 0), "TCP", 6379, "look-alike labels: shop-staging/cart has app=cart like shop/cart")
	deny(pod("payments", "fraud", 0), world(MetadataIP), "TCP", 80, "cloud metadata: observed (a finding), never allowed by default")
	deny(pod("payments", "fraud", 1), world(MetadataIP), "TCP", 80, "cloud metadata: observed (a finding), never allowed by default")
	deny(pod("shop", "frontend", 0), world(MetadataIP), "TCP", 80, "cloud metadata is guarded for every pod")
	deny(pod("data", "backup", 0), world(MetadataIP), "TCP", 80, "cloud metadata is guarded for every pod, even one with external egress")
	deny(pod("payments", "worker", 0), world("198.51.100.99"), "TCP", 443, "unobserved external IP: external egress is one /32 per observed address")
	deny(pod("payments", "worker", 0), world(StripeIP), "TCP", 80, "observed external IP on a wrong port")
	deny(pod("shop", "cart", 0), world(KubeDNSClusterIP), "UDP", 53, "the kube-dns ClusterIP appears only in socket-LB events (event_type 7): not a peer")
	deny(world("203.0.113.50"), pod("shop", "cart", 0), "TCP", 8080, "only shop/frontend is public")
	deny(world("203.0.113.50"), pod("shop", "frontend", 0), "TCP", 9090, "shop/frontend is public on 8080 only; 9090 is for Prometheus")
	deny(world("203.0.113.50"), pod("shop-staging", "frontend", 0), "TCP", 8080, "shop-staging/frontend is not public (look-alike of shop/frontend)")
	return out
}

// Inexpressible returns observed request edges that Kubernetes
// NetworkPolicy cannot express (ICMP): the report must list them as needing
// the Cilium or Calico flavor, and verify counts them as inexpressible.
func Inexpressible() []Probe {
	s := Cluster()
	fe := s.WorkloadPods("shop", "frontend")
	rd := s.WorkloadPods("data", "redis")
	var out []Probe
	for _, p := range [][2]int{{0, 0}, {2, 1}} {
		src := Peer{Namespace: "shop", Pod: fe[p[0]].Name}
		dst := Peer{Namespace: "data", Pod: rd[p[1]].Name}
		out = append(out, Probe{
			Name:    fmt.Sprintf("%s -> %s ICMPv4/echo", src, dst),
			Src:     src,
			Dst:     dst,
			Proto:   "ICMPv4",
			Port:    0,
			Allowed: true,
			Why:     "observed: ICMPv4 echo request (type 8) and reply; Port is 0, inexpressible in NetworkPolicy",
		})
	}
	return out
}
