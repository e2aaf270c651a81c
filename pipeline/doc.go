// Package pipeline wires the stages — collectors → learner → synth →
// output — for the CLI verbs, so cmd stays thin and the whole job is usable
// as a library. It owns source resolution (paths, globs, stdin, saved
// graphs) and the run summary.
//
// Learn records each file in the graph's edge sources as
// "<base name>@sha256:<12 hex>" of its bytes as stored, hashed while it
// streams (sources.go); URLs are recorded without credentials. Render
// checks the tree before anything is written: every flavor's documents
// are decoded back and compared with the model (integrity.go), and every
// observed request of the window is replayed against the written tree
// with that flavor's evaluator (replayEngine); readiness follows from the
// replay (synth.ApplyReplay), and a flow synth claimed admitted that the
// tree denies fails the run.
package pipeline
