package calico

import (
	"slices"

	caliout "github.com/flowfence/flowfence/output/calico"
)

// Promotion is what promoting a tree's staged policies does to it; every
// entry is a kind and key ("NetworkPolicy shop/web").
type Promotion struct {
	// Set are the policies staged Set policies become.
	Set []string `json:"set,omitempty"`
	// Replaced are the enforced policies of the tree a staged Set replaces
	// (the staged spec is the one evaluated).
	Replaced []string `json:"replaced,omitempty"`
	// Deleted are the enforced policies of the tree a staged Delete
	// removes (not evaluated).
	Deleted []string `json:"deleted,omitempty"`
	// Absent are the policies staged Deletes remove that the tree does not
	// hold: nothing to evaluate either way.
	Absent []string `json:"deletedNotInTree,omitempty"`
}

// Staged is the number of staged policies promoted.
func (p *Promotion) Staged() int { return len(p.Set) + len(p.Deleted) + len(p.Absent) }

// Promote returns objs as Calico enforces them once every staged policy is
// promoted, in objs' order, and what promotion did. A staged Set policy
// becomes the enforced kind of the same name and spec
// (StagedNetworkPolicy: NetworkPolicy, StagedGlobalNetworkPolicy:
// GlobalNetworkPolicy; a StagedKubernetesNetworkPolicy the Calico
// NetworkPolicy knp.default.<name> Calico enforces for the
// networking.k8s.io/v1 NetworkPolicy it becomes), its From naming the
// staged document, and replaces an enforced policy of that kind and key:
// promotion applies the staged spec under that name. A staged Delete
// removes the enforced policy of that kind and key. Tiers and enforced
// policies stay; objects Promote returned are returned as they are.
func Promote(objs []*Object) ([]*Object, Promotion) {
	var pr Promotion
	set, del := map[string]bool{}, map[string]bool{}
	for _, o := range objs {
		if !IsStaged(o.Kind) || o.Policy == nil {
			continue
		}
		id := promotedKind(o) + " " + PromotedKey(o)
		if o.Policy.StagedAction == StagedActionDelete {
			del[id] = true
		} else {
			set[id] = true
		}
	}
	if len(set)+len(del) == 0 {
		return objs, pr
	}
	out := make([]*Object, 0, len(objs))
	held := map[string]bool{}
	for _, o := range objs {
		switch {
		case o.Policy == nil:
			out = append(out, o)
		case IsStaged(o.Kind):
			if o.Policy.StagedAction == StagedActionDelete {
				continue
			}
			spec := *o.Policy
			spec.StagedAction = ""
			p := &Object{Kind: promotedKind(o), Namespace: o.Namespace, Name: promotedName(o), Policy: &spec, From: o.Kind + " " + o.Key()}
			pr.Set = append(pr.Set, p.Kind+" "+p.Key())
			out = append(out, p)
		default:
			id := o.Kind + " " + o.Key()
			held[id] = true
			switch {
			case set[id]:
				pr.Replaced = append(pr.Replaced, id)
			case del[id]:
				pr.Deleted = append(pr.Deleted, id)
			default:
				out = append(out, o)
			}
		}
	}
	for id := range del {
		if !held[id] {
			pr.Absent = append(pr.Absent, id)
		}
	}
	for _, l := range []*[]string{&pr.Set, &pr.Replaced, &pr.Deleted, &pr.Absent} {
		slices.Sort(*l)
	}
	return out, pr
}

// promotedKind is the enforced kind a staged policy becomes.
func promotedKind(o *Object) string {
	if o.Kind == caliout.KindStagedGlobalNetworkPolicy {
		return caliout.KindGlobalNetworkPolicy
	}
	return caliout.KindNetworkPolicy
}

// promotedName is the name Calico enforces a staged policy under.
func promotedName(o *Object) string {
	if o.Kind == KindStagedKubernetesNetworkPolicy {
		return knpPrefix + o.Name
	}
	return o.Name
}

// PromotedKey is the key a staged policy is enforced under once promoted
// (knp.default.<name> for a StagedKubernetesNetworkPolicy), the object's
// own key for the other kinds.
func PromotedKey(o *Object) string {
	if !IsStaged(o.Kind) {
		return o.Key()
	}
	p := &Object{Namespace: o.Namespace, Name: promotedName(o)}
	return p.Key()
}
