// Package calicotests validates the calico flavor's objects against
// Calico's published CRD OpenAPI schemas. It is a nested module so that the
// product's go.mod never requires github.com/projectcalico/calico: the
// tests download that module (the only version the module proxy serves,
// Calico v3.28.5) into the module cache and read
// libcalico-go/config/crd/*.yaml from there.
package calicotests
