package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"

	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/ogen-go/ogen/validate"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// statusOf maps each domain error code to its HTTP status: the one place where
// that mapping lives.
var statusOf = map[string]int{
	litengine.EINVALID:      http.StatusBadRequest,
	litengine.ENOTFOUND:     http.StatusNotFound,
	litengine.ECONFLICT:     http.StatusConflict,
	litengine.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	litengine.EUNAUTHORIZED: http.StatusUnauthorized,
	litengine.EFORBIDDEN:    http.StatusForbidden,
	litengine.ERATELIMITED:  http.StatusTooManyRequests,
	litengine.EMISMATCH:     http.StatusUnprocessableEntity,
	litengine.EUNKNOWN:      http.StatusServiceUnavailable,
	litengine.EUNAVAILABLE:  http.StatusServiceUnavailable,
	litengine.EINTERNAL:     http.StatusInternalServerError,
}

// NewError turns an error returned by a handler method into a problem. Only
// internal errors are logged; their details never reach the client.
func (s *Server) NewError(ctx context.Context, err error) *oas.ProblemStatusCode {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = &litengine.Error{Code: litengine.EUNAVAILABLE, Message: "The request was cancelled or timed out before it completed; nothing was changed."}
	}
	var sec *ogenerrors.SecurityError
	if errors.As(err, &sec) && errors.Is(err, ogenerrors.ErrSecurityRequirementIsNotSatisfied) {
		err = litengine.Errorf(litengine.EUNAUTHORIZED, "This endpoint needs an API key: send Authorization: Bearer <key>.")
	}
	code := litengine.ErrorCode(err)
	s.metrics.error(code)
	if st := stateOf(ctx); st != nil {
		st.errCode = code
	}
	if code == litengine.EINTERNAL {
		s.log.ErrorContext(ctx, "internal error", "err", err)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := newProblem(ctx, status, litengine.ErrorMessage(err))
	var e *litengine.Error
	if errors.As(err, &e) {
		for _, it := range e.Items {
			item := oas.ProblemItem{Code: it.Code, Detail: it.Detail}
			if it.Field != "" {
				item.Pointer = oas.NewOptString(fmt.Sprintf("/%s/%d", it.Field, it.Index))
			}
			if it.TransactionID != "" {
				item.TransactionID = oas.NewOptString(it.TransactionID)
			} else if it.BookID != 0 {
				item.BookID = oas.NewOptInt64(it.BookID)
			}
			p.Response.Errors = append(p.Response.Errors, item)
		}
	}
	return p
}

// newProblem fills the fields every problem has.
func newProblem(ctx context.Context, status int, detail string) *oas.ProblemStatusCode {
	kind := strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	// Details may quote the request (a path, a key); the problem must stay
	// valid UTF-8 whatever the client sent.
	p := oas.Problem{
		Type:   "urn:litengine:problem:" + kind,
		Title:  http.StatusText(status),
		Status: status,
		Detail: strings.ToValidUTF8(detail, "\uFFFD"),
	}
	if id := RequestID(ctx); id != "" {
		p.RequestID = oas.NewOptString(id)
	}
	if path := requestPath(ctx); path != "" {
		p.Instance = oas.NewOptString(strings.ToValidUTF8(path, "\uFFFD"))
	}
	return &oas.ProblemStatusCode{StatusCode: status, Response: p}
}

// codeOf is the error code counted for a status that middleware answers.
func codeOf(status int) string {
	for code, st := range statusOf {
		if st == status && code != litengine.EUNKNOWN { // 503 is unavailable unless a store says otherwise
			return code
		}
	}
	if status < 500 {
		return litengine.EINVALID // 405, 408, 415: the request, not the engine
	}
	return litengine.EINTERNAL
}

// problem counts and sends a problem answered outside the generated handlers.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	s.metrics.error(codeOf(status))
	writeProblem(w, newProblem(r.Context(), status, detail))
}

// writeProblem sends a problem outside the generated handlers.
func writeProblem(w http.ResponseWriter, p *oas.ProblemStatusCode) {
	e := jx.GetEncoder()
	defer jx.PutEncoder(e)
	p.Response.Encode(e)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.StatusCode)
	_, _ = w.Write(e.Bytes())
}

// decodeError answers requests that the generated code rejected before any
// handler ran: malformed JSON, wrong types, unknown fields, values out of range,
// a wrong content type or an oversized body.
func (s *Server) decodeError(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	var (
		ctype  *validate.InvalidContentTypeError
		req    *ogenerrors.DecodeRequestError
		param  *ogenerrors.DecodeParamError
		params *ogenerrors.DecodeParamsError
	)
	switch {
	case errors.As(err, &ctype):
		s.problem(w, r, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type %q is not supported; send application/json.", ctype.ContentType))
	case errors.As(err, &req):
		items := schemaItems(req.Err)
		detail := "Invalid request body: " + describe(req.Err)
		if len(items) > 0 {
			detail = "The request body breaks the API's schema; each problem is listed in errors."
		}
		p := newProblem(ctx, http.StatusBadRequest, detail)
		p.Response.Errors = items
		s.metrics.error(litengine.EINVALID)
		writeProblem(w, p)
	case errors.As(err, &param):
		s.problem(w, r, http.StatusBadRequest,
			fmt.Sprintf("Invalid %s parameter %q: %s", param.In, param.Name, describe(param.Err)))
	case errors.As(err, &params):
		s.problem(w, r, http.StatusBadRequest, "Invalid parameters: "+describe(params.Err))
	case clientGone(err):
		// The client hung up while the answer was being written: nobody to
		// answer, nothing wrong with the engine.
		s.log.DebugContext(ctx, "client went away", "err", err)
	default:
		s.log.ErrorContext(ctx, "unexpected request error", "err", err)
		s.problem(w, r, ogenerrors.ErrorCode(err), "The request could not be processed.")
	}
}

// clientGone reports whether err comes from a connection the client closed.
func clientGone(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || (errors.As(err, &op) && op.Op == "write")
}

// describe makes a decoding error readable: it names the field, when the
// decoder said which, and the reason in plain words.
func describe(err error) string {
	msg := err.Error()
	if errors.Is(err, validate.ErrBodyRequired) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body is empty or truncated JSON."
	}
	var path []string
	for _, m := range fieldPattern.FindAllStringSubmatch(msg, -1) {
		path = append(path, m[1])
	}
	where := ""
	if len(path) > 0 {
		where = "field " + strings.Join(path, ".") + ": "
	}
	switch {
	case strings.Contains(msg, "unexpected field"):
		if m := unknownFieldPattern.FindStringSubmatch(msg); m != nil {
			return where + fmt.Sprintf("unknown field %q; only the fields of the API's schema are accepted.", m[1])
		}
	case strings.Contains(msg, "floating point") || strings.Contains(msg, "unexpected byte 46") || strings.Contains(msg, "unexpected byte 101") || strings.Contains(msg, "unexpected byte 69"):
		return where + "must be an integer, written without a fraction or exponent."
	case strings.Contains(msg, "overflow") || strings.Contains(msg, "out of range"):
		return where + "the number is out of range."
	case strings.Contains(msg, "unexpected byte 34"):
		return where + "must be a number, not a string."
	case strings.Contains(msg, "strconv."):
		return where + "must be an integer."
	}
	for _, prefix := range []string{"decode application/json: ", "validate: ", "callback: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	return msg
}

var (
	fieldPattern        = regexp.MustCompile(`decode field "([^"]+)"`)
	unknownFieldPattern = regexp.MustCompile(`unexpected field "([^"]*)"`)
)

// schemaItems lists each schema violation that validation found, with a JSON
// pointer to the offending value, so that a client sees every culprit.
func schemaItems(err error) []oas.ProblemItem {
	var v *validate.Error
	if !errors.As(err, &v) {
		return nil
	}
	var items []oas.ProblemItem
	var walk func(pointer string, e *validate.Error)
	walk = func(pointer string, e *validate.Error) {
		for _, f := range e.Fields {
			p := pointer + "/" + strings.Trim(f.Name, "[]")
			var inner *validate.Error
			if errors.As(f.Error, &inner) {
				walk(p, inner)
				continue
			}
			items = append(items, oas.ProblemItem{
				Code:    litengine.ItemInvalid,
				Detail:  schemaReason(f.Error),
				Pointer: oas.NewOptString(p),
			})
		}
	}
	walk("", v)
	return items
}

// schemaReason words one violated constraint.
func schemaReason(err error) string {
	if errors.Is(err, validate.ErrFieldRequired) {
		return "required field is missing."
	}
	msg := err.Error()
	for _, kind := range []string{"int: ", "string: ", "array: ", "float: "} {
		msg = strings.TrimPrefix(msg, kind)
	}
	return msg + "."
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.problem(w, r, http.StatusNotFound, fmt.Sprintf("No resource at %s.", r.URL.Path))
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	w.Header().Set("Allow", allowed)
	s.problem(w, r, http.StatusMethodNotAllowed,
		fmt.Sprintf("%s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, allowed))
}
