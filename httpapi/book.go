package httpapi

import (
	"context"
	"strconv"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// CreateBook adds a book to the catalogue.
func (s *Server) CreateBook(ctx context.Context, req *oas.BookCreate, _ oas.CreateBookParams) (*oas.BookHeaders, error) {
	in := &litengine.BookCreate{
		Title:    req.Title,
		Authors:  req.Authors,
		ISBN:     req.Isbn.Value,
		TotalQty: req.Totalqty.Or(0),
	}
	if req.PublishedYear.Set {
		y := req.PublishedYear.Value
		in.PublishedYear = &y
	}
	b, err := s.store.CreateBook(ctx, in)
	if err != nil {
		return nil, err
	}
	return &oas.BookHeaders{Location: "/api/books/" + strconv.FormatInt(b.ID, 10), Response: toBook(b)}, nil
}

// GetBook returns a book with its stock.
func (s *Server) GetBook(ctx context.Context, params oas.GetBookParams) (*oas.Book, error) {
	b, err := s.store.FindBookByID(ctx, params.ID)
	if err != nil {
		return nil, err
	}
	out := toBook(b)
	return &out, nil
}

// ListBooks searches the catalogue. An ISBN in any form is searched as its
// ISBN-13, so "0-439-02348-3" finds the book stored as 9780439023481.
func (s *Server) ListBooks(ctx context.Context, params oas.ListBooksParams) (*oas.BookPage, error) {
	after, err := decodeIDCursor("b", params.Cursor)
	if err != nil {
		return nil, err
	}
	q := params.Q.Value
	if !litengine.Printable(q) {
		return nil, litengine.Errorf(litengine.EINVALID, "q contains control characters or invalid UTF-8.")
	}
	if isbn, ok := litengine.NormalizeISBN(q); ok {
		q = isbn
	}
	limit := params.Limit.Or(20)
	// One more than the page tells whether another page follows.
	books, err := s.store.FindBooks(ctx, litengine.BookFilter{Query: litengine.SearchKey(q), AfterID: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	more := len(books) > limit
	books = books[:min(len(books), limit)]
	page := &oas.BookPage{Items: make([]oas.Book, len(books))}
	for i, b := range books {
		page.Items[i] = toBook(b)
	}
	if more {
		page.NextCursor = oas.NewOptString(encodeCursor("b", strconv.FormatInt(books[len(books)-1].ID, 10)))
	}
	return page, nil
}

func toBook(b *litengine.Book) oas.Book {
	out := oas.Book{
		ID:        b.ID,
		Title:     b.Title,
		Authors:   b.Authors,
		Totalqty:  b.TotalQty,
		OnLoan:    b.OnLoan,
		Available: b.Available(),
		CreatedAt: b.CreatedAt,
		UpdatedAt: b.UpdatedAt,
	}
	if out.Authors == nil {
		out.Authors = []string{}
	}
	if b.ISBN != "" {
		out.Isbn = oas.NewOptString(b.ISBN)
	}
	if b.PublishedYear != nil {
		out.PublishedYear = oas.NewOptInt32(*b.PublishedYear)
	}
	return out
}
