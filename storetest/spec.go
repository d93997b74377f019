package storetest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/litengine/litengine/api"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// SpecTransport checks every response that passes through it against
// api/openapi.yaml and fails t on any difference: status, headers, content
// type and body schema. Requests outside the spec pass unchecked.
func SpecTransport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI)
		if err == nil {
			err = doc.Validate(context.Background())
		}
		if err == nil {
			doc.Servers = nil // match operations by path alone, whatever the test server's address
			specRouter, err = legacy.NewRouter(doc)
		}
		specErr = err
	})
	if specErr != nil {
		t.Fatalf("load spec: %v", specErr)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &specTransport{t: t, base: base}
}

type specTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	find := req
	if req.Method == http.MethodHead {
		// HEAD is answered as GET without a body; check its status and headers as GET's.
		find = req.Clone(req.Context())
		find.Method = http.MethodGet
	}
	route, params, err := specRouter.FindRoute(find)
	if err != nil {
		// Only the spec document itself, the metrics, unknown paths and wrong
		// methods are outside the spec's operations.
		if req.URL.Path != "/api/openapi.yaml" && req.URL.Path != "/metrics" && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			s.t.Errorf("%s %s: answered %d but the spec has no such operation", req.Method, req.URL.Path, resp.StatusCode)
		}
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: find, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: req.Method == http.MethodHead},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		s.t.Errorf("%s %s: response %d does not match the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}
