// Package version is the `flowfence version` verb: the module version and
// VCS revision the binary was built from (runtime/debug.ReadBuildInfo).
package version

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/jsondoc"
)

// Output formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Info is what the binary knows of its build.
type Info struct {
	Version int `json:"flowfenceVersion"` // the document's version
	// Module is the main module's path and version ("(devel)" for a
	// build from a checkout).
	Module        string `json:"module"`
	ModuleVersion string `json:"moduleVersion"`
	// Revision, Time and Modified are the VCS stamp (go build in a git
	// checkout); empty when the build had none (-buildvcs=false, go run,
	// go test).
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"goVersion"`
}

// Read returns the build information of the running binary.
func Read() Info { return FromBuildInfo(debug.ReadBuildInfo()) }

// FromBuildInfo extracts Info from what debug.ReadBuildInfo returned.
func FromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	info := Info{Version: 1, ModuleVersion: "unknown"}
	if !ok || bi == nil {
		return info
	}
	info.Module, info.ModuleVersion, info.GoVersion = bi.Main.Path, bi.Main.Version, bi.GoVersion
	if info.ModuleVersion == "" {
		info.ModuleVersion = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// Text is the one-line form: "flowfence v1.2.3 (revision abc123, modified, 2026-…) go1.26".
func (i Info) Text() string {
	s := "flowfence " + escape.Terminal(i.ModuleVersion)
	switch {
	case i.Revision != "":
		s += " (revision " + escape.Terminal(i.Revision)
		if i.Modified {
			s += ", modified"
		}
		if i.Time != "" {
			s += ", " + escape.Terminal(i.Time)
		}
		s += ")"
	default:
		s += " (no VCS revision stamped)"
	}
	if i.GoVersion != "" {
		s += " " + escape.Terminal(i.GoVersion)
	}
	return s
}

// NewCommand returns the version command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the module version and VCS revision flowfence was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := flags.Output(cmd, FormatText, FormatJSON)
			if err != nil {
				return err
			}
			info := Read()
			if format == FormatJSON {
				b, err := jsondoc.Marshal(info)
				if err != nil {
					return fmt.Errorf("render JSON: %w", err)
				}
				_, err = env.Streams.Out.Write(b)
				return err
			}
			_, err = fmt.Fprintln(env.Streams.Out, info.Text())
			return err
		},
	}
	flags.AddOutput(cmd.Flags(), FormatText, FormatJSON)
	return cmd
}
