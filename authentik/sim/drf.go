package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Django REST framework behaviour the authentik API inherits: error bodies,
// field coercion and messages, pagination. Message texts are DRF's and
// Django's defaults (rest_framework/fields.py, relations.py, validators.py;
// django/db/models/fields). They are not quoted in shared/reference beyond
// the examples of authentik-api.md §0, so the wording of each is an
// ASSUMPTION from the DRF/Django sources, not a recorded server answer.

const (
	msgRequired      = "This field is required."
	msgNull          = "This field may not be null."
	msgBlank         = "This field may not be blank."
	msgNotString     = "Not a valid string."
	msgNotInt        = "A valid integer is required."
	msgNotBool       = "Must be a valid boolean."
	msgNotDict       = "Expected a dictionary of items but got type \"%s\"."
	msgNotList       = "Expected a list of items but got type \"%s\"."
	msgInvalidChoice = "\"%s\" is not a valid choice."
	msgDoesNotExist  = "Invalid pk \"%s\" - object does not exist."
	msgIncorrectType = "Incorrect type. Expected pk value, received %s."
	msgInvalidUUID   = "“%s” is not a valid UUID."
	msgMaxLength     = "Ensure this field has no more than %d characters."
	msgMinLength     = "Ensure this field has at least %d characters."
	msgMaxValue      = "Ensure this value is less than or equal to %d."
	msgMinValue      = "Ensure this value is greater than or equal to %d."
	msgSlug          = "Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens."
	msgURL           = "Enter a valid URL."
	msgNotFound      = "Not found."
	msgNoPermission  = "You do not have permission to perform this action."
	msgNotAuthn      = "Authentication credentials were not provided."
	msgTokenInvalid  = "Token invalid/expired"
	msgInvalidPage   = "Invalid page."
	msgFilterChoice  = "Select a valid choice. %s is not one of the available choices."
	msgFilterModel   = "Select a valid choice. That choice is not one of the available choices."
	msgNonDictBody   = "Invalid data. Expected a dictionary, but got %s."
)

// apiErr is an error answer of the REST API.
type apiErr struct {
	status int
	body   any
}

func (e *apiErr) Error() string { return fmt.Sprintf("%d %v", e.status, e.body) }

func detailErr(status int, msg string) *apiErr {
	return &apiErr{status: status, body: map[string]any{"detail": msg}}
}

// notFound mirrors DRF >= 3.15 (which keeps Django's Http404 message,
// encode/django-rest-framework#8051): "No <Model> matches the given query."
func notFound(model string) *apiErr {
	return detailErr(http.StatusNotFound, "No "+model+" matches the given query.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// ---- request bodies ------------------------------------------------------

// form is a parsed JSON request body with the error map DRF builds while
// validating it.
type form struct {
	data    map[string]any
	partial bool
	errs    map[string]any
}

// parseBody reads a JSON object body. An empty body is an empty object
// (DRF's request.data for a body-less request).
func parseBody(r *http.Request, partial bool) (*form, *apiErr) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, detailErr(http.StatusBadRequest, "Malformed request.")
	}
	f := &form{data: map[string]any{}, partial: partial, errs: map[string]any{}}
	if len(bytes.TrimSpace(raw)) == 0 {
		return f, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		// ASSUMPTION: DRF's UnsupportedMediaType wording; authentik parses JSON only.
		return nil, detailErr(http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type \"%s\" in request.", ct))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// ASSUMPTION: DRF says "JSON parse error - <python json message>".
		return nil, detailErr(http.StatusBadRequest, "JSON parse error - "+err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{
			"non_field_errors": []string{fmt.Sprintf(msgNonDictBody, pyType(v))},
		}}
	}
	f.data = obj
	return f, nil
}

// pyType names a decoded JSON value the way Python would (DRF's messages
// use type(data).__name__).
func pyType(v any) string {
	switch t := v.(type) {
	case nil:
		return "NoneType"
	case string:
		return "str"
	case bool:
		return "bool"
	case json.Number:
		if _, err := t.Int64(); err == nil {
			return "int"
		}
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

func (f *form) fail(field string, msgs ...string) {
	if prev, ok := f.errs[field].([]string); ok {
		f.errs[field] = append(prev, msgs...)
		return
	}
	f.errs[field] = msgs
}

func (f *form) ok() bool { return len(f.errs) == 0 }

func (f *form) err() *apiErr {
	return &apiErr{status: http.StatusBadRequest, body: f.errs}
}

// get returns the raw value; present is false when the key is absent.
// A required field that is absent is reported unless the form is partial.
func (f *form) get(name string, required bool) (any, bool) {
	v, ok := f.data[name]
	if !ok {
		if required && !f.partial {
			f.fail(name, msgRequired)
		}
		return nil, false
	}
	return v, true
}

type strOpts struct {
	required   bool
	allowBlank bool
	minLen     int
	maxLen     int
	pattern    *regexp.Regexp
	patternMsg string
}

// str mirrors DRF CharField: strings and numbers are accepted (numbers are
// turned into their string form), whitespace is trimmed, null is refused and
// blank unless allowed.
func (f *form) str(name string, o strOpts) (val string, present bool) {
	v, ok := f.get(name, o.required)
	if !ok {
		return "", false
	}
	if v == nil {
		f.fail(name, msgNull)
		return "", false
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		f.fail(name, msgNotString)
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		// CharField.run_validation: blank is refused unless allow_blank.
		if o.allowBlank {
			return "", true
		}
		f.fail(name, msgBlank)
		return "", false
	}
	var msgs []string
	if o.maxLen > 0 && len([]rune(s)) > o.maxLen {
		msgs = append(msgs, fmt.Sprintf(msgMaxLength, o.maxLen))
	}
	if o.minLen > 0 && len([]rune(s)) < o.minLen {
		msgs = append(msgs, fmt.Sprintf(msgMinLength, o.minLen))
	}
	if o.pattern != nil && !o.pattern.MatchString(s) {
		msgs = append(msgs, o.patternMsg)
	}
	if len(msgs) > 0 {
		f.fail(name, msgs...)
		return "", false
	}
	return s, true
}

// url mirrors a blank-allowed URLField. ASSUMPTION: validURL is looser than
// Django's URLValidator in corner cases.
func (f *form) url(name string) (string, bool) {
	u, ok := f.str(name, strOpts{allowBlank: true})
	if ok && u != "" && !validURL(u) {
		f.fail(name, msgURL)
	}
	return u, ok
}

// toInt mirrors DRF IntegerField.to_internal_value:
// int(re.sub(r"\.0*\s*$", "", str(data))); booleans are refused.
func toInt(v any) (int64, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n, true
		}
		fl, err := t.Float64()
		if err != nil || fl != math.Trunc(fl) || math.Abs(fl) > 1e18 {
			return 0, false
		}
		return int64(fl), true
	case string:
		s = t
	default:
		return 0, false
	}
	s = strings.TrimSpace(trailingZeroDecimal.ReplaceAllString(s, ""))
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	return n, err == nil
}

var trailingZeroDecimal = regexp.MustCompile(`\.0*\s*$`)

type intOpts struct {
	required bool
	min, max *int64
}

// integer mirrors DRF IntegerField (null refused).
func (f *form) integer(name string, o intOpts) (val int64, present bool) {
	v, ok := f.get(name, o.required)
	if !ok {
		return 0, false
	}
	if v == nil {
		f.fail(name, msgNull)
		return 0, false
	}
	n, good := toInt(v)
	if !good {
		f.fail(name, msgNotInt)
		return 0, false
	}
	var msgs []string
	if o.max != nil && n > *o.max {
		msgs = append(msgs, fmt.Sprintf(msgMaxValue, *o.max))
	}
	if o.min != nil && n < *o.min {
		msgs = append(msgs, fmt.Sprintf(msgMinValue, *o.min))
	}
	if len(msgs) > 0 {
		f.fail(name, msgs...)
		return 0, false
	}
	return n, true
}

// toBool mirrors DRF BooleanField's TRUE_VALUES / FALSE_VALUES.
func toBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case json.Number:
		switch t.String() {
		case "1":
			return true, true
		case "0", "0.0":
			return false, true
		}
	case string:
		switch t {
		case "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1":
			return true, true
		case "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", "0.0":
			return false, true
		}
	}
	return false, false
}

func (f *form) boolean(name string) (val, present bool) {
	v, ok := f.get(name, false)
	if !ok {
		return false, false
	}
	if v == nil {
		f.fail(name, msgNull)
		return false, false
	}
	b, good := toBool(v)
	if !good {
		f.fail(name, msgNotBool)
		return false, false
	}
	return b, true
}

// choice mirrors DRF ChoiceField.
func (f *form) choice(name string, required bool, choices []string) (string, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return "", false
	}
	if v == nil {
		f.fail(name, msgNull)
		return "", false
	}
	s := choiceString(v)
	for _, c := range choices {
		if c == s {
			return s, true
		}
	}
	f.fail(name, fmt.Sprintf(msgInvalidChoice, s))
	return "", false
}

func choiceString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "True"
		}
		return "False"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// normUUID canonicalises a UUID string the way Python's uuid.UUID accepts
// it (hyphens optional, any case, optional braces / urn prefix).
func normUUID(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}"), "urn:uuid:")
	if !uuidRE.MatchString(s) {
		return "", false
	}
	return dashed(strings.ToLower(strings.ReplaceAll(s, "-", ""))), true
}

// uuidRefValue checks one value of a UUID-keyed PrimaryKeyRelatedField:
// the Django UUIDField message for malformed input, DRF's does_not_exist
// for an unknown key. It returns the canonical pk and an error message.
func uuidRefValue(v any, exists func(string) bool) (string, string) {
	switch t := v.(type) {
	case string:
		id, ok := normUUID(strings.TrimSpace(t))
		if !ok {
			return "", fmt.Sprintf(msgInvalidUUID, t)
		}
		if !exists(id) {
			return "", fmt.Sprintf(msgDoesNotExist, t)
		}
		return id, ""
	case json.Number:
		return "", fmt.Sprintf(msgDoesNotExist, t.String())
	}
	return "", fmt.Sprintf(msgIncorrectType, pyType(v))
}

// related reads the raw value of a PrimaryKeyRelatedField. null, and ""
// (which RelatedField.run_validation turns into None), are refused unless
// allowNull; an accepted null gives v == nil. ok is false when the field is
// absent or refused.
func (f *form) related(name string, required, allowNull bool) (v any, ok bool) {
	v, ok = f.get(name, required)
	if !ok {
		return nil, false
	}
	if v == nil || v == "" {
		if allowNull {
			return nil, true
		}
		f.fail(name, msgNull)
		return nil, false
	}
	return v, true
}

// relatedList mirrors PrimaryKeyRelatedField(many=True): a list whose first
// bad item's message becomes the field's error.
func relatedList[T any](f *form, name string, value func(any) (T, string)) ([]T, bool) {
	v, ok := f.get(name, false)
	if !ok {
		return nil, false
	}
	if v == nil {
		f.fail(name, msgNull)
		return nil, false
	}
	list, isList := v.([]any)
	if !isList {
		f.fail(name, fmt.Sprintf(msgNotList, pyType(v)))
		return nil, false
	}
	out := []T{}
	for _, item := range list {
		x, msg := value(item)
		if msg != "" {
			f.fail(name, msg)
			return nil, false
		}
		out = append(out, x)
	}
	return out, true
}

// uuidRef mirrors a single (nullable) PrimaryKeyRelatedField to a
// UUID-keyed model; an accepted null gives "".
func (f *form) uuidRef(name string, required, allowNull bool, exists func(string) bool) (string, bool) {
	v, ok := f.related(name, required, allowNull)
	if !ok || v == nil {
		return "", ok
	}
	id, msg := uuidRefValue(v, exists)
	if msg != "" {
		f.fail(name, msg)
		return "", false
	}
	return id, true
}

func (f *form) uuidRefList(name string, exists func(string) bool) ([]string, bool) {
	return relatedList(f, name, func(v any) (string, string) { return uuidRefValue(v, exists) })
}

// intRefValue checks one value of an integer-keyed PrimaryKeyRelatedField.
func intRefValue(v any, exists func(int) bool) (int, string) {
	if _, isBool := v.(bool); isBool {
		return 0, fmt.Sprintf(msgIncorrectType, "bool")
	}
	var n int64
	switch t := v.(type) {
	case json.Number:
		x, err := t.Int64()
		if err != nil {
			return 0, fmt.Sprintf(msgIncorrectType, pyType(v))
		}
		n = x
	case string:
		x, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		if err != nil {
			return 0, fmt.Sprintf(msgIncorrectType, "str")
		}
		n = x
	default:
		return 0, fmt.Sprintf(msgIncorrectType, pyType(v))
	}
	if !exists(int(n)) {
		return 0, fmt.Sprintf(msgDoesNotExist, choiceString(v))
	}
	return int(n), ""
}

// intRef mirrors a single (nullable) PrimaryKeyRelatedField to an
// integer-keyed model; an accepted null gives nil.
func (f *form) intRef(name string, allowNull bool, exists func(int) bool) (*int, bool) {
	v, ok := f.related(name, false, allowNull)
	if !ok || v == nil {
		return nil, ok
	}
	n, msg := intRefValue(v, exists)
	if msg != "" {
		f.fail(name, msg)
		return nil, false
	}
	return &n, true
}

func (f *form) intRefList(name string, exists func(int) bool) ([]int, bool) {
	return relatedList(f, name, func(v any) (int, string) { return intRefValue(v, exists) })
}

// dict mirrors DRF JSONField/DictField for "attributes".
func (f *form) dict(name string) (map[string]any, bool) {
	v, ok := f.get(name, false)
	if !ok {
		return nil, false
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		f.fail(name, fmt.Sprintf(msgNotDict, pyType(v)))
		return nil, false
	}
	return m, true
}

// validURL mirrors a URLField / DomainlessFormattedURLValidator loosely: an
// absolute URL with scheme and host. ASSUMPTION: Django's URLValidator is
// stricter in corner cases the simulator does not model.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(s, " \t\n")
}

// ---- create, update, delete ----------------------------------------------

// validated parses the request body (partial for PATCH) and validates it
// with formFn onto a copy of old (nil = create): the new object, or the
// form's errors.
func validated[T any](c *call, partial bool, old *T, formFn func(*form, *T) *T) (*T, *apiErr) {
	f, err := parseBody(c.r, partial)
	if err != nil {
		return nil, err
	}
	x := formFn(f, old)
	if !f.ok() {
		return nil, f.err()
	}
	return x, nil
}

// update mirrors UpdateModelMixin (PUT, and PATCH when partial): the
// looked-up object is replaced by the validated copy.
func update[T any](c *call, partial bool, lookup func() (*T, *apiErr), formFn func(*form, *T) *T, render func(*T) map[string]any) (int, any, *apiErr) {
	old, err := lookup()
	if err != nil {
		return 0, nil, err
	}
	x, err := validated(c, partial, old, formFn)
	if err != nil {
		return 0, nil, err
	}
	*old = *x
	return http.StatusOK, render(old), nil
}

// taken reports whether an object other than self (nil when creating)
// already has the value that same looks for: a unique model field.
func taken[T any](list []*T, self *T, same func(*T) bool) bool {
	return slices.ContainsFunc(list, func(x *T) bool { return x != self && same(x) })
}

// without removes x from list.
func without[T comparable](list []T, x T) []T {
	return slices.DeleteFunc(list, func(y T) bool { return y == x })
}

// ---- durations -----------------------------------------------------------

// parseDuration mirrors authentik.lib.utils.time.timedelta_from_string:
// "hours=1;minutes=2" with keys of datetime.timedelta and float values.
func parseDuration(s string) (float64, bool) {
	secs := 0.0
	if strings.TrimSpace(s) == "" {
		return 0, false
	}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, false
		}
		switch strings.TrimSpace(k) {
		case "weeks":
			secs += n * 7 * 86400
		case "days":
			secs += n * 86400
		case "hours":
			secs += n * 3600
		case "minutes":
			secs += n * 60
		case "seconds":
			secs += n
		case "milliseconds":
			secs += n / 1000
		case "microseconds":
			secs += n / 1e6
		default:
			return 0, false
		}
	}
	return secs, true
}

// durationField is a TextField with timedelta_string_validator.
// ASSUMPTION: the validator's message "%(value)s is not in the correct
// format of 'hours=3;minutes=1'." (authentik/lib/utils/time.py).
func (f *form) duration(name string) (string, bool) {
	s, ok := f.str(name, strOpts{minLen: 1})
	if !ok {
		return "", false
	}
	if _, good := parseDuration(s); !good {
		f.fail(name, s+" is not in the correct format of 'hours=3;minutes=1'.")
		return "", false
	}
	return s, true
}

// ---- lists, filters, pagination ------------------------------------------

// listParams are the query parameters every list endpoint understands.
type listParams struct {
	q url.Values
}

// exact mirrors django-filter's exact lookups: every field (filter name ->
// the row's value) that the query sets must equal it.
func (lp listParams) exact(fields map[string]string) bool {
	for k, v := range fields {
		// django-filter skips a filter whose value is empty (Filter.filter
		// returns the queryset unchanged for values in EMPTY_VALUES), so
		// "?name=" lists everything rather than the objects named "".
		if want := lp.q.Get(k); want != "" && want != v {
			return false
		}
	}
	return true
}

// search mirrors DRF SearchFilter on the given fields (no search: a match).
func (lp listParams) search(fields ...string) bool { return matchSearch(lp.q.Get("search"), fields...) }

// boolFilter mirrors django-filter's BooleanFilter: "true"/"false" (also
// "True"/"1"...); anything else does not filter. ASSUMPTION: invalid
// values are ignored rather than refused.
func (lp listParams) boolFilter(k string) (bool, bool) {
	if !lp.q.Has(k) {
		return false, false
	}
	switch strings.ToLower(lp.q.Get(k)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// choiceFilter mirrors a django-filter ChoiceFilter: an unknown value is a
// 400 with Django's ChoiceField message.
func (lp listParams) choiceFilter(k string, choices []string) (string, bool, *apiErr) {
	if !lp.q.Has(k) || lp.q.Get(k) == "" {
		return "", false, nil
	}
	v := lp.q.Get(k)
	for _, c := range choices {
		if c == v {
			return v, true, nil
		}
	}
	return "", false, &apiErr{status: http.StatusBadRequest, body: map[string]any{k: []string{fmt.Sprintf(msgFilterChoice, v)}}}
}

// search mirrors DRF SearchFilter: every whitespace-separated term must be
// contained (case-insensitively) in one of the fields.
func matchSearch(term string, fields ...string) bool {
	for _, t := range strings.Fields(term) {
		t = strings.ToLower(t)
		hit := false
		for _, f := range fields {
			if strings.Contains(strings.ToLower(f), t) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// orderBy sorts rows by the "ordering" parameter (comma-separated fields,
// "-" for descending) when every field is known; otherwise by def.
func orderBy[T any](rows []T, ordering string, keys map[string]func(T) string, def ...string) {
	fields := def
	if ordering != "" {
		req := strings.Split(ordering, ",")
		okAll := true
		for _, f := range req {
			if _, ok := keys[strings.TrimPrefix(strings.TrimSpace(f), "-")]; !ok {
				okAll = false
			}
		}
		if okAll {
			fields = req
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for _, f := range fields {
			f = strings.TrimSpace(f)
			desc := strings.HasPrefix(f, "-")
			k := keys[strings.TrimPrefix(f, "-")]
			if k == nil {
				continue
			}
			a, b := k(rows[i]), k(rows[j])
			if a == b {
				continue
			}
			if desc {
				return a > b
			}
			return a < b
		}
		return false
	})
}

// listAnswer renders the rows of a list endpoint and paginates them.
func listAnswer[T any](c *call, rows []T, render func(T) map[string]any) (int, any, *apiErr) {
	res := make([]any, 0, len(rows))
	for _, x := range rows {
		res = append(res, render(x))
	}
	page, err := c.s.paginate(c.q, res)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, page, nil
}

// paginate mirrors authentik.api.pagination.Pagination (DRF
// PageNumberPagination): page numbers, 0 for no next/previous, Django
// Paginator counts (an empty list is one page with indexes 0).
func (s *Server) paginate(q url.Values, results []any) (map[string]any, *apiErr) {
	size := 100
	maxSize := 0
	if s.ver.pageSizeCapped() {
		size, maxSize = 20, 100
	}
	if v := q.Get("page_size"); v != "" {
		// DRF _positive_int(strict=True, cutoff=max_page_size); invalid -> default.
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = n
			if maxSize > 0 && size > maxSize {
				size = maxSize
			}
		}
	}
	count := len(results)
	pages := 1
	if count > 0 {
		pages = (count + size - 1) / size
	}
	page := 1
	if v := q.Get("page"); v != "" {
		if v == "last" {
			page = pages
		} else {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > pages {
				return nil, detailErr(http.StatusNotFound, msgInvalidPage)
			}
			page = n
		}
	}
	start := (page - 1) * size
	end := start + size
	if end > count {
		end = count
	}
	pageRows := results[start:end]
	if pageRows == nil {
		pageRows = []any{}
	}
	startIndex, endIndex := 0, 0
	if count > 0 {
		startIndex, endIndex = start+1, end
	}
	next, prev := 0, 0
	if page < pages {
		next = page + 1
	}
	if page > 1 {
		prev = page - 1
	}
	out := map[string]any{
		"pagination": map[string]any{
			"next": next, "previous": prev, "count": count, "current": page,
			"total_pages": pages, "start_index": startIndex, "end_index": endIndex,
		},
		"results": pageRows,
	}
	if s.ver.autocomplete() {
		// ASSUMPTION: the autocomplete object is empty for these endpoints
		// (authentik-api.md §0 shows "autocomplete": {}).
		out["autocomplete"] = map[string]any{}
	}
	return out, nil
}
