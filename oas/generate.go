// Package oas holds the server, client and types generated from api/openapi.yaml.
// Everything here except this file is generated: change the spec and run go generate.
package oas

//go:generate go tool ogen --target . --package oas --clean --config ogen.yml ../api/openapi.yaml
