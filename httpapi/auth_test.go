package httpapi

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/api"
)

// TestRolesMatchSpec keeps the role table equal to the spec's
// x-litengine-roles, operation by operation, and checks that every operation
// behind bearerAuth has roles and every public one has none.
func TestRolesMatchSpec(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the spec is not valid OpenAPI: %v", err)
	}
	seen := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
			public := op.Security != nil && len(*op.Security) == 0
			raw, has := op.Extensions["x-litengine-roles"]
			var spec []litengine.Role
			if list, ok := raw.([]any); ok {
				for _, r := range list {
					spec = append(spec, litengine.Role(r.(string)))
				}
			}
			switch {
			case public && (has || rolesOf[name] != nil):
				t.Errorf("%s %s is public but lists roles", method, path)
			case !public && !slices.Equal(spec, rolesOf[name]):
				t.Errorf("%s %s (%s): spec roles %v, code roles %v", method, path, name, spec, rolesOf[name])
			case !public:
				seen++
			}
		}
	}
	if seen != len(rolesOf) {
		t.Errorf("%d operations behind bearerAuth in the spec, %d in the role table", seen, len(rolesOf))
	}
}
