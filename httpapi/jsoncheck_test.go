package httpapi

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	many := func(dup bool) string {
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = fmt.Sprintf(`"k%d":%d`, i, i)
		}
		if dup {
			keys = append(keys, `"k3":0`) // past the slice, into the map
		}
		return "{" + strings.Join(keys, ",") + "}"
	}
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		body  string
		items int
		bad   string
	}{
		{`{"user_id":1,"books":[1,2,3]}`, 3, ""},
		{`{"inventory":[{"bookid":1,"totalqty":1},{"bookid":2,"totalqty":1}]}`, 2, ""},
		{many(false), 0, ""},
		{many(true), 0, `key "k3" appears twice`},
		{`{"a":{"b":1,"b":2}}`, 0, `in the object at "/a"`},
		{`{"a":[{"x":1},{"x":1,"x":2}]}`, 0, `in the object at "/a/1"`},
		{nest(32), 1, ""}, // the top-level array holds one array
		{nest(33), 0, "nests deeper than 32 levels"},
		{"{\"a\":\"\xff\"}", 0, "not valid UTF-8"},
	} {
		items, err := checkJSON([]byte(tc.body))
		switch {
		case tc.bad == "" && (err != nil || items != tc.items):
			t.Errorf("%.60s: %d items, %v; want %d items", tc.body, items, err, tc.items)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%.60s: %v, want an error with %q", tc.body, err, tc.bad)
		}
	}
}

// BenchmarkCheckJSONHostile is the worst body the check used to meet in
// quadratic time: a long key over a long array, and an object of 100,000
// keys. Linear now: milliseconds per megabyte.
func BenchmarkCheckJSONHostile(b *testing.B) {
	longKey := []byte(`{"` + strings.Repeat("k", 400_000) + `":[` + strings.Repeat("0,", 300_000) + `0]}`)
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf(`"k%d":0`, i)
	}
	manyKeys := []byte("{" + strings.Join(keys, ",") + "}")
	for _, body := range [][]byte{longKey, manyKeys} {
		b.Run(fmt.Sprintf("%dKB", len(body)>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := checkJSON(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
