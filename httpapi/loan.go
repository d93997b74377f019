package httpapi

import (
	"context"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// Borrow lends a batch of books to one member, all or nothing.
func (s *Server) Borrow(ctx context.Context, req *oas.BorrowRequest, _ oas.BorrowParams) (*oas.BorrowResponse, error) {
	s.metrics.batch("borrow", len(req.Books))
	if err := tooMany("books", len(req.Books), s.limits.MaxBorrow); err != nil {
		return nil, err
	}
	if err := actFor(ctx, req.UserID); err != nil {
		return nil, err
	}
	loans, err := s.store.Borrow(ctx, req.UserID, req.Books)
	if err != nil {
		return nil, err
	}
	out := &oas.BorrowResponse{UserID: req.UserID, Transactions: make([]oas.BorrowedLoan, len(loans))}
	for i, l := range loans {
		out.Transactions[i] = oas.BorrowedLoan{TransactionID: l.ID, BookID: l.BookID, BorrowedAt: l.BorrowedAt, DueAt: l.DueAt}
	}
	return out, nil
}

// ReturnLoans closes a batch of loans by transaction ID, all or nothing.
func (s *Server) ReturnLoans(ctx context.Context, req *oas.ReturnRequest, _ oas.ReturnLoansParams) (*oas.ReturnResponse, error) {
	if err := s.loanBatch(ctx, "return", req.TransactionIds); err != nil {
		return nil, err
	}
	loans, err := s.store.Return(ctx, req.TransactionIds)
	if err != nil {
		return nil, err
	}
	out := &oas.ReturnResponse{Returns: make([]oas.ReturnedLoan, len(loans))}
	for i, l := range loans {
		out.Returns[i] = oas.ReturnedLoan{
			TransactionID: l.ID, BookID: l.BookID, UserID: l.UserID,
			BorrowedAt: l.BorrowedAt, DueAt: l.DueAt, ReturnedAt: *l.ReturnedAt,
		}
		if f := l.LateFee; f != nil {
			out.Returns[i].LateFee = oas.NewOptMoney(oas.Money{Amount: f.Amount, Currency: f.Currency, FeeID: oas.NewOptString(f.ID)})
		}
	}
	return out, nil
}

// RenewLoans extends a batch of loans by transaction ID, all or nothing.
func (s *Server) RenewLoans(ctx context.Context, req *oas.ReturnRequest, _ oas.RenewLoansParams) (*oas.RenewResponse, error) {
	if err := s.loanBatch(ctx, "renew", req.TransactionIds); err != nil {
		return nil, err
	}
	loans, err := s.store.Renew(ctx, req.TransactionIds)
	if err != nil {
		return nil, err
	}
	out := &oas.RenewResponse{Renewals: make([]oas.Loan, len(loans))}
	for i, l := range loans {
		out.Renewals[i] = toLoan(l)
	}
	return out, nil
}

func toLoan(l *litengine.Loan) oas.Loan {
	out := oas.Loan{
		TransactionID: l.ID, BookID: l.BookID, UserID: l.UserID,
		BorrowedAt: l.BorrowedAt, DueAt: l.DueAt, Renewals: l.Renewals,
	}
	if l.ReturnedAt != nil {
		out.ReturnedAt = oas.NewOptDateTime(*l.ReturnedAt)
	}
	return out
}

// SetInventory sets the stock of a batch of books, all or nothing.
func (s *Server) SetInventory(ctx context.Context, req *oas.InventoryRequest, _ oas.SetInventoryParams) (*oas.InventoryResponse, error) {
	s.metrics.batch("inventory", len(req.Inventory))
	if err := tooMany("inventory", len(req.Inventory), s.limits.MaxInventory); err != nil {
		return nil, err
	}
	changes := make([]litengine.StockChange, len(req.Inventory))
	for i, it := range req.Inventory {
		changes[i] = litengine.StockChange{BookID: it.Bookid, TotalQty: it.Totalqty}
	}
	stock, err := s.store.SetInventory(ctx, changes)
	if err != nil {
		return nil, err
	}
	out := &oas.InventoryResponse{Inventory: make([]oas.Stock, len(stock))}
	for i, st := range stock {
		out.Inventory[i] = oas.Stock{Bookid: st.BookID, Totalqty: st.TotalQty, OnLoan: st.OnLoan, Available: st.Available()}
	}
	return out, nil
}

// loanBatch checks a batch of transaction IDs before it reaches the store:
// its size, its shape, and that a member key names only its own loans.
func (s *Server) loanBatch(ctx context.Context, operation string, ids []string) error {
	s.metrics.batch(operation, len(ids))
	if err := tooMany("transaction_ids", len(ids), s.limits.MaxReturn); err != nil {
		return err
	}
	if err := litengine.ValidateReturn(ids); err != nil {
		return err
	}
	return s.ownLoans(ctx, operation, ids)
}

// tooMany refuses a batch over its configured cap before it reaches the store.
func tooMany(field string, n, limit int) error {
	if n > limit {
		return litengine.Errorf(litengine.EINVALID,
			"%s lists %d items; at most %d are allowed in one request: split the batch.", field, n, limit)
	}
	return nil
}
