// Package input opens the files a collector reads — paths, globs, `-` for
// stdin, gzip detected by its magic bytes — and splits them into lines with
// their line numbers, tolerating lines of any length and a truncated last
// line (a rotated exporter file). It is format-agnostic: the Hubble and
// Calico collectors build on it.
//
// Reading: Lines splits a stream into numbered lines; Lines.ReadBatch
// reads blocks of about 128 KiB straight into the caller's batch buffer
// (once the buffered reader that detected the format is drained, from the
// stream under it), so that a block and the records decoded from it stay
// in one core's cache while they pass from the reading goroutine to a
// decoding one and on to the consumer. DecodeParallel decodes batches on
// all cores and hands them on in input order.
package input
