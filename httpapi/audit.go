package httpapi

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/go-faster/jx"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// ListAuditEvents returns one page of the audit trail in commit order.
func (s *Server) ListAuditEvents(ctx context.Context, params oas.ListAuditEventsParams) (*oas.AuditPage, error) {
	after, err := decodeIDCursor("a", params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := params.Limit.Or(100)
	events, err := s.store.FindAuditEvents(ctx, litengine.AuditFilter{
		BookID: params.BookID.Value, UserID: params.UserID.Value, TransactionID: params.TransactionID.Value,
		Type: string(params.Type.Value), Since: params.Since.Value, Until: params.Until.Value,
		AfterSeq: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, err
	}
	more := len(events) > limit
	events = events[:min(len(events), limit)]
	page := &oas.AuditPage{Items: make([]oas.AuditEvent, len(events))}
	for i, e := range events {
		item := oas.AuditEvent{Seq: e.Seq, At: e.At, Type: oas.AuditEventType(e.Type), Data: oas.AuditEventData{}}
		if e.Actor != "" {
			item.Actor = oas.NewOptString(e.Actor)
		}
		if e.BookID != 0 {
			item.BookID = oas.NewOptInt64(e.BookID)
		}
		if e.UserID != 0 {
			item.UserID = oas.NewOptInt64(e.UserID)
		}
		if e.TransactionID != "" {
			item.TransactionID = oas.NewOptString(e.TransactionID)
		}
		if e.FeeID != "" {
			item.FeeID = oas.NewOptString(e.FeeID)
		}
		for k, v := range e.Data {
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			item.Data[k] = jx.Raw(raw)
		}
		page.Items[i] = item
	}
	if more {
		page.NextCursor = oas.NewOptString(encodeCursor("a", strconv.FormatInt(events[len(events)-1].Seq, 10)))
	}
	return page, nil
}

// AuditInventory checks every book's counters against its loans.
func (s *Server) AuditInventory(ctx context.Context, params oas.AuditInventoryParams) (*oas.StockAuditPage, error) {
	after, err := decodeIDCursor("s", params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := params.Limit.Or(100)
	rows, err := s.store.AuditStock(ctx, litengine.StockAuditFilter{AfterID: after, Limit: limit + 1, Inconsistent: params.Inconsistent.Value})
	if err != nil {
		return nil, err
	}
	more := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	page := &oas.StockAuditPage{Items: make([]oas.StockAudit, len(rows))}
	for i, r := range rows {
		page.Items[i] = oas.StockAudit{Bookid: r.BookID, Totalqty: r.TotalQty, OnLoan: r.OnLoan,
			Available: r.TotalQty - r.OnLoan, ActiveLoans: r.ActiveLoans, Consistent: r.Consistent()}
	}
	if more {
		page.NextCursor = oas.NewOptString(encodeCursor("s", strconv.FormatInt(rows[len(rows)-1].BookID, 10)))
	}
	return page, nil
}

// ListLoans lists overdue loans with what they owe so far.
func (s *Server) ListLoans(ctx context.Context, params oas.ListLoansParams) (*oas.OverduePage, error) {
	after, err := decodeCursor("o", params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := params.Limit.Or(20)
	loans, err := s.store.FindOverdueLoans(ctx, litengine.OverdueFilter{AfterID: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	more := len(loans) > limit
	loans = loans[:min(len(loans), limit)]
	page := &oas.OverduePage{Items: make([]oas.OverdueLoan, len(loans))}
	for i, l := range loans {
		page.Items[i] = oas.OverdueLoan{
			TransactionID: l.ID, BookID: l.BookID, UserID: l.UserID, BorrowedAt: l.BorrowedAt, DueAt: l.DueAt,
			Renewals: l.Renewals, DaysOverdue: l.DaysOverdue,
			AccruedFee: oas.Money{Amount: l.AccruedFee, Currency: s.policies.Currency},
		}
	}
	if more {
		page.NextCursor = oas.NewOptString(encodeCursor("o", loans[len(loans)-1].ID))
	}
	return page, nil
}
