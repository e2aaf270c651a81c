package scenario

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Names of the generated files (relative to the output directory, normally
// testdata/flows).
const (
	// FileNodeA is node-a's Hubble exporter file: {"flow":…,"node_name":…,
	// "time":…} lines with every modern field; its last line is truncated.
	FileNodeA = "node-a.jsonl"
	// FileNodeB is `hubble observe -o json` for node-b, gzipped: no uuid, no
	// workloads.
	FileNodeB = "node-b.json.gz"
	// FileNodeC is node-c's legacy capture: one bare Flow per line, no
	// is_reply (only the deprecated "reply").
	FileNodeC = "node-c-legacy.json"
	// FileReadme describes the scenario.
	FileReadme = "README.md"
)

// File is one generated file.
type File struct {
	Name string
	Data []byte
}

// shape is the JSON shape of a file.
type shape int

const (
	shapeExporter shape = iota // exporter file, Cilium 1.20
	shapeObserve               // hubble observe -o json, older agent
	shapeLegacy                // bare Flow objects, legacy
)

// fileStats counts what a file holds.
type fileStats struct {
	lines, flows, events int
}

// simulated runs the scenario over its window and returns the generator
// with its observations in time order (creation order among equal times),
// the order every rendering writes them in.
func simulated() *gen {
	g := newGen()
	g.run()
	sort.SliceStable(g.obs, func(i, j int) bool {
		if !g.obs[i].t.Equal(g.obs[j].t) {
			return g.obs[i].t.Before(g.obs[j].t)
		}
		return g.obs[i].seq < g.obs[j].seq
	})
	return g
}

// Render generates the scenario's files in memory. The result is the same
// on every call, byte for byte.
func Render() ([]File, error) {
	g := simulated()
	a, sa, err := g.renderNode("node-a", shapeExporter)
	if err != nil {
		return nil, err
	}
	b, sb, err := g.renderNode("node-b", shapeObserve)
	if err != nil {
		return nil, err
	}
	c, sc, err := g.renderNode("node-c", shapeLegacy)
	if err != nil {
		return nil, err
	}
	gz, err := gzipBytes(b, "node-b.json")
	if err != nil {
		return nil, err
	}
	return []File{
		{Name: FileNodeA, Data: a},
		{Name: FileNodeB, Data: gz},
		{Name: FileNodeC, Data: c},
		{Name: FileReadme, Data: readme(sa, sb, sc)},
	}, nil
}

// Write renders the scenario into dir (created if needed).
func Write(dir string) error {
	files, err := Render()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// marshal renders m as Hubble does (proto field names, enum names), on one
// line. protojson's output is deliberately unstable in whitespace, so it is
// compacted.
func marshal(m proto.Message) ([]byte, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// shapeFlow returns a copy of f with the fields the shape's producer would
// not have emitted removed.
func shapeFlow(f *flowpb.Flow, s shape) *flowpb.Flow {
	f = proto.Clone(f).(*flowpb.Flow)
	if s == shapeExporter {
		return f
	}
	f.Uuid = ""
	f.Emitter = nil
	f.NodeLabels = nil
	f.TraceReason = flowpb.TraceReason_TRACE_REASON_UNKNOWN
	f.Interface = nil
	for _, ep := range []*flowpb.Endpoint{f.Source, f.Destination} {
		if ep != nil {
			ep.Workloads = nil
			ep.ClusterName = ""
		}
	}
	if s == shapeLegacy {
		f.IsReply = nil
	}
	return f
}

func (g *gen) line(o obs, node string, s shape) ([]byte, error) {
	if o.event != nil {
		e := proto.Clone(o.event).(*observerpb.GetFlowsResponse)
		e.Time = timestamppb.New(o.t)
		return marshal(e)
	}
	f := shapeFlow(o.flow, s)
	if s == shapeLegacy {
		return marshal(f)
	}
	return marshal(&observerpb.GetFlowsResponse{
		ResponseTypes: &observerpb.GetFlowsResponse_Flow{Flow: f},
		NodeName:      node,
		Time:          f.Time,
	})
}

// renderNode renders what node observed, in time order.
func (g *gen) renderNode(node string, s shape) ([]byte, fileStats, error) {
	var buf bytes.Buffer
	var st fileStats
	var dupLine []byte
	dupIn := -1
	write := func(l []byte, isFlow bool) {
		buf.Write(l)
		buf.WriteByte('\n')
		st.lines++
		if isFlow {
			st.flows++
		} else {
			st.events++
		}
	}
	for _, o := range g.obs {
		if o.node != node {
			continue
		}
		if o.event != nil && s == shapeLegacy {
			return nil, st, fmt.Errorf("scenario: non-flow event for legacy node %s", node)
		}
		l, err := g.line(o, node, s)
		if err != nil {
			return nil, st, err
		}
		write(l, o.flow != nil)
		if o.dup && s == shapeExporter {
			dupLine, dupIn = l, 4
		}
		if dupIn > 0 {
			dupIn--
			if dupIn == 0 {
				write(dupLine, true) // relay resend: same line, same uuid
			}
		}
	}
	if s == shapeExporter {
		// A rotated exporter file ends in the middle of a line.
		tail := g.truncatedTail()
		l, err := g.line(obs{flow: tail, t: tail.Time.AsTime()}, node, s)
		if err != nil {
			return nil, st, err
		}
		buf.Write(l[:len(l)/2])
		st.lines++
	}
	return buf.Bytes(), st, nil
}

// gzipBytes compresses b with a fixed header, so the output only depends
// on b (and on the Go version's compressor).
func gzipBytes(b []byte, name string) ([]byte, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Name = name
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
