// Package api embeds the OpenAPI document, the contract of LitEngine's HTTP API.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml, served at GET /api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
