// Package nats checks the fleet (learn --publish, learn --from nats://)
// against a real three-node NATS JetStream cluster started in-process on
// loopback (nats-server lives here, in this nested module, never in the
// product's go.mod), driving the flowfence binary built from the root
// module.
package nats
