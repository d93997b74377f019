package httpapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-faster/jx"
)

// maxJSONDepth is far more nesting than any request of the API has: a body
// nesting deeper than this many levels of objects and arrays is refused.
const maxJSONDepth = 32

// jsonProblem is a body the generated decoder would accept but the API must
// not: invalid UTF-8 would be stored and sent back as broken JSON, and with a
// duplicate key it is unclear which value the client meant.
type jsonProblem struct{ msg string }

func (e *jsonProblem) Error() string { return e.msg }

// checkJSON looks for what the generated decoder lets through, and counts
// the elements of the body's top-level arrays: the items of a batch. Syntax
// errors are left to the decoder, whose messages say where the JSON breaks.
// It runs in time linear in the body: the path to a value is only spelled
// out for the error message.
func checkJSON(data []byte) (items int, err error) {
	if !utf8.Valid(data) {
		return 0, &jsonProblem{"the body is not valid UTF-8."}
	}
	w := jsonWalker{}
	err = w.walk(jx.DecodeBytes(data), 0)
	var p *jsonProblem
	if errors.As(err, &p) {
		return 0, p
	}
	return w.items, nil
}

// jsonWalker keeps the path to the current value as a stack of keys and
// indexes, so that only an error pays for building the JSON pointer.
type jsonWalker struct {
	path  []string
	items int
}

func (w *jsonWalker) pointer() string {
	if len(w.path) == 0 {
		return ""
	}
	return "/" + strings.Join(w.path, "/")
}

func (w *jsonWalker) walk(d *jx.Decoder, depth int) error {
	switch d.Next() {
	case jx.Object, jx.Array:
		if depth >= maxJSONDepth {
			return &jsonProblem{fmt.Sprintf("the body nests deeper than %d levels.", maxJSONDepth)}
		}
	}
	switch d.Next() {
	case jx.Object:
		// Objects of the API have a handful of keys: a slice beats a map
		// until an object has many, where only a map stays linear.
		var keys []string
		var set map[string]bool
		return d.ObjBytes(func(d *jx.Decoder, key []byte) error {
			k := string(key)
			dup := set[k]
			if set == nil {
				for _, seen := range keys {
					if seen == k {
						dup = true
						break
					}
				}
			}
			if dup {
				where := "the body"
				if p := w.pointer(); p != "" {
					where = fmt.Sprintf("the object at %q", p)
				}
				return &jsonProblem{fmt.Sprintf("key %q appears twice in %s; send each key once.", truncate(k, 64), where)}
			}
			if set == nil && len(keys) < 16 {
				keys = append(keys, k)
			} else {
				if set == nil {
					set = make(map[string]bool, 32)
					for _, seen := range keys {
						set[seen] = true
					}
				}
				set[k] = true
			}
			w.path = append(w.path, k)
			err := w.walk(d, depth+1)
			w.path = w.path[:len(w.path)-1]
			return err
		})
	case jx.Array:
		i := 0
		return d.Arr(func(d *jx.Decoder) error {
			if depth == 1 {
				w.items++
			}
			w.path = append(w.path, strconv.Itoa(i))
			err := w.walk(d, depth+1)
			w.path = w.path[:len(w.path)-1]
			i++
			return err
		})
	default:
		return d.Skip()
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
