package httpapi

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/go-faster/jx"
)

// maxJSONDepth is far more nesting than any request of the API has.
const maxJSONDepth = 32

// jsonProblem is a body the generated decoder would accept but the API must
// not: invalid UTF-8 would be stored and sent back as broken JSON, and with a
// duplicate key it is unclear which value the client meant.
type jsonProblem struct{ msg string }

func (e *jsonProblem) Error() string { return e.msg }

// checkJSON looks for what the generated decoder lets through, and counts
// the elements of the body's top-level arrays: the items of a batch. Syntax
// errors are left to the decoder, whose messages say where the JSON breaks.
func checkJSON(data []byte) (items int, err error) {
	if !utf8.Valid(data) {
		return 0, &jsonProblem{"the body is not valid UTF-8."}
	}
	err = walkJSON(jx.DecodeBytes(data), "", 0, &items)
	var p *jsonProblem
	if errors.As(err, &p) {
		return 0, p
	}
	return items, nil
}

func walkJSON(d *jx.Decoder, pointer string, depth int, items *int) error {
	if depth > maxJSONDepth {
		return &jsonProblem{fmt.Sprintf("the body nests deeper than %d levels.", maxJSONDepth)}
	}
	switch d.Next() {
	case jx.Object:
		var keys []string // objects of the API have a handful of keys: a slice beats a map
		return d.ObjBytes(func(d *jx.Decoder, key []byte) error {
			for _, k := range keys {
				if k == string(key) {
					where := "the body"
					if pointer != "" {
						where = fmt.Sprintf("the object at %q", pointer)
					}
					return &jsonProblem{fmt.Sprintf("key %q appears twice in %s; send each key once.", key, where)}
				}
			}
			keys = append(keys, string(key))
			return walkJSON(d, pointer+"/"+string(key), depth+1, items)
		})
	case jx.Array:
		i := 0
		return d.Arr(func(d *jx.Decoder) error {
			if depth == 1 {
				*items++
			}
			err := walkJSON(d, fmt.Sprintf("%s/%d", pointer, i), depth+1, items)
			i++
			return err
		})
	default:
		return d.Skip()
	}
}
