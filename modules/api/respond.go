package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Pagination bounds (spec §9.1).
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Page is the parsed page/page_size query of a list request.
type Page struct {
	Page     int
	PageSize int
	// IncludeTotal asks for total_items/total_pages (include_total=true);
	// list handlers may always include them when counting is cheap.
	IncludeTotal bool
}

// Offset is the row offset of the page.
func (p Page) Offset() int32 { return int32((p.Page - 1) * p.PageSize) }

// Limit asks for one row more than the page so has_next needs no count.
func (p Page) Limit() int32 { return int32(p.PageSize + 1) }

// Pagination is the list metadata (spec §9.1).
type Pagination struct {
	Page        int    `json:"page"`
	PageSize    int    `json:"page_size"`
	TotalItems  *int64 `json:"total_items,omitempty"`
	TotalPages  *int64 `json:"total_pages,omitempty"`
	HasPrevious bool   `json:"has_previous"`
	HasNext     bool   `json:"has_next"`
}

// ListResponse is the list envelope.
type ListResponse[T any] struct {
	Items      []T        `json:"items"`
	Pagination Pagination `json:"pagination"`
}

// parsePage reads page (1-based, default 1) and page_size (default 50,
// max 100); per_page is accepted as an alias (spec §9.1 legacy).
func parsePage(c echo.Context) (Page, error) {
	p := Page{Page: 1, PageSize: DefaultPageSize, IncludeTotal: c.QueryParam("include_total") == "true"}
	if v := c.QueryParam("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return p, badRequest("page: must be an integer between 1 and 1000000")
		}
		p.Page = n
	}
	size := c.QueryParam("page_size")
	if size == "" {
		size = c.QueryParam("per_page")
	}
	if size != "" {
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, badRequest("page_size: must be an integer between 1 and %d", MaxPageSize)
		}
		p.PageSize = n
	}
	return p, nil
}

// paged builds the list envelope from rows fetched with p.Limit() (one extra
// row signals a next page) and an optional total (nil when not counted).
// Callers fetch rows in a stable newest-first order (id DESC) so pages have
// no duplicates or gaps while rows are appended.
func paged[T any](p Page, rows []T, total *int64) ListResponse[T] {
	hasNext := len(rows) > p.PageSize
	if hasNext {
		rows = rows[:p.PageSize]
	}
	if rows == nil {
		rows = []T{}
	}
	pg := Pagination{Page: p.Page, PageSize: p.PageSize, HasPrevious: p.Page > 1, HasNext: hasNext}
	if total != nil {
		pages := (*total + int64(p.PageSize) - 1) / int64(p.PageSize)
		pg.TotalItems, pg.TotalPages = total, &pages
	}
	return ListResponse[T]{Items: rows, Pagination: pg}
}

// pageSlice paginates an in-memory list (already filtered and ordered).
func pageSlice[T any](p Page, all []T) ListResponse[T] {
	start := min(int(p.Offset()), len(all))
	end := min(start+p.PageSize+1, len(all))
	total := int64(len(all))
	return paged(p, all[start:end], &total)
}

// data writes the single-object envelope {"data": v}.
func data(c echo.Context, status int, v any) error {
	return c.JSON(status, map[string]any{"data": v})
}

// success writes {"success": true, "message": msg}.
func success(c echo.Context, msg string) error {
	return c.JSON(http.StatusOK, map[string]any{"success": true, "message": msg})
}

var errEmptyBody = errors.New("empty body")

// bind decodes the JSON body into v. The body has already been validated
// against the OpenAPI schema, so this mostly guards handlers used without a
// schema; syntax errors map to 400, type errors to 422 with the field.
func bind(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errEmptyBody
		}
		var maxErr *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &maxErr) || errors.As(err, &typeErr) {
			return err
		}
		return &json.SyntaxError{}
	}
	return nil
}

// visibleList is a list endpoint whose rows a caller sees either all (an
// unconstrained read grant: paged and counted in SQL) or one by one (filtered
// in memory over at most maxFilteredRows rows).
type visibleList[R, O any] struct {
	list    func(ctx context.Context, offset, limit int32) ([]R, error)
	count   func(ctx context.Context) (int64, error)
	visible func(R) bool
	render  func(R) O
}

// serve answers the list for a caller who sees everything when all is true.
func (l visibleList[R, O]) serve(c echo.Context, pg Page, all bool) error {
	ctx := c.Request().Context()
	if all {
		rows, err := l.list(ctx, pg.Offset(), pg.Limit())
		if err != nil {
			return err
		}
		var total *int64
		if pg.IncludeTotal {
			n, err := l.count(ctx)
			if err != nil {
				return err
			}
			total = &n
		}
		out := make([]O, len(rows))
		for i, r := range rows {
			out[i] = l.render(r)
		}
		return c.JSON(http.StatusOK, paged(pg, out, total))
	}
	rows, err := l.list(ctx, 0, maxFilteredRows)
	if err != nil {
		return err
	}
	out := []O{}
	for _, r := range rows {
		if l.visible(r) {
			out = append(out, l.render(r))
		}
	}
	return c.JSON(http.StatusOK, pageSlice(pg, out))
}
