package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/jsondoc"
	"github.com/flowfence/flowfence/record"
)

// PortTableVersion is the version of the port table document.
const PortTableVersion = 1

// MaxPortTableBytes bounds a port table document.
const MaxPortTableBytes = 4 << 20

// portTableDoc is the port table on disk: versioned, workloads by id.
type portTableDoc struct {
	Version   int                     `json:"version"`
	Workloads map[string][]namedPortJ `json:"workloads"`
}

type namedPortJ struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
}

// MarshalPortTable returns the port table document: indented JSON, sorted,
// a trailing newline.
func MarshalPortTable(t PortTable) ([]byte, error) {
	doc := portTableDoc{Version: PortTableVersion, Workloads: map[string][]namedPortJ{}}
	for id, ps := range t {
		out := make([]namedPortJ, 0, len(ps))
		for _, p := range ps {
			out = append(out, namedPortJ{Name: p.Name, Protocol: p.Proto.String(), Port: p.Port})
		}
		slices.SortFunc(out, func(a, b namedPortJ) int { return strings.Compare(a.Name, b.Name) })
		doc.Workloads[id] = out
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("port table: %w", err)
	}
	return append(b, '\n'), nil
}

// ReadPortTable decodes and validates a port table document (a tree's
// file, which a pull request can edit): name prefixes every error. Unknown
// fields, a second document, another version, a workload id that is not
// "pod:NAMESPACE/NAME" with valid names, a port name Kubernetes would
// refuse, a protocol other than TCP, UDP or SCTP, port 0 or a name given
// twice are errors.
func ReadPortTable(name string, r io.Reader) (PortTable, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s", escape.Terminal(name), fmt.Sprintf(format, a...))
	}
	data, err := jsondoc.ReadLimited(r, MaxPortTableBytes, "port table")
	if err != nil {
		return nil, fail("%v", err)
	}
	var doc portTableDoc
	if err := jsondoc.DecodeStrict(data, &doc, "port table"); err != nil {
		return nil, fail("%s", escape.Terminal(err.Error()))
	}
	if doc.Version != PortTableVersion {
		return nil, fail("version %d: this build reads version %d", doc.Version, PortTableVersion)
	}
	t := PortTable{}
	for _, id := range slices.Sorted(maps.Keys(doc.Workloads)) {
		ns, wl, ok := strings.Cut(strings.TrimPrefix(id, "pod:"), "/")
		if !strings.HasPrefix(id, "pod:") || !ok || !record.ValidNamespace(ns) || !record.ValidName(wl) {
			return nil, fail("workload %q: not pod:NAMESPACE/NAME", escape.Terminal(id))
		}
		seen := map[string]bool{}
		for _, p := range doc.Workloads[id] {
			proto, ok := record.ParseProtocol(p.Protocol)
			switch {
			case !record.ValidPortName(p.Name):
				return nil, fail("workload %s: port name %q is not a valid container port name", id, escape.Terminal(p.Name))
			case !ok || !proto.HasPorts() || proto.String() != p.Protocol:
				return nil, fail("workload %s: port %s: protocol %q is not TCP, UDP or SCTP", id, p.Name, escape.Terminal(p.Protocol))
			case p.Port == 0:
				return nil, fail("workload %s: port %s: port 0", id, p.Name)
			case seen[p.Name]:
				return nil, fail("workload %s: port %s named twice", id, p.Name)
			}
			seen[p.Name] = true
			t[id] = append(t[id], NamedPort{Name: p.Name, Proto: proto, Port: p.Port})
		}
	}
	return t, nil
}
