package httpapi

import (
	"context"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// ListUserFees returns a member's fee ledger with its totals.
func (s *Server) ListUserFees(ctx context.Context, params oas.ListUserFeesParams) (*oas.FeeLedger, error) {
	if err := actFor(ctx, params.ID); err != nil {
		return nil, err
	}
	fees, err := s.store.FindFees(ctx, params.ID)
	if err != nil {
		return nil, err
	}
	out := &oas.FeeLedger{UserID: params.ID, Currency: s.policies.Currency, Fees: make([]oas.Fee, len(fees))}
	for i, f := range fees {
		out.Fees[i] = toFee(f)
		out.Outstanding += f.Outstanding()
		out.Paid += f.Paid
		if f.WaivedAt != nil {
			out.Waived += f.Amount - f.Paid
		}
	}
	return out, nil
}

// PayFees records payments of several fees, all or nothing.
func (s *Server) PayFees(ctx context.Context, req *oas.PayRequest, _ oas.PayFeesParams) (*oas.PayResponse, error) {
	s.metrics.batch("pay", len(req.Payments))
	payments := make([]litengine.FeePayment, len(req.Payments))
	for i, p := range req.Payments {
		payments[i] = litengine.FeePayment{FeeID: p.FeeID, Amount: p.Amount}
	}
	fees, err := s.store.PayFees(ctx, payments)
	if err != nil {
		return nil, err
	}
	out := &oas.PayResponse{Fees: make([]oas.Fee, len(fees))}
	for i, f := range fees {
		out.Fees[i] = toFee(f)
	}
	return out, nil
}

// WaiveFee forgives what a fee still owes.
func (s *Server) WaiveFee(ctx context.Context, req *oas.WaiveRequest, params oas.WaiveFeeParams) (*oas.Fee, error) {
	f, err := s.store.WaiveFee(ctx, params.FeeID, req.Reason)
	if err != nil {
		return nil, err
	}
	out := toFee(f)
	return &out, nil
}

func toFee(f *litengine.Fee) oas.Fee {
	out := oas.Fee{
		FeeID: f.ID, UserID: f.UserID, TransactionID: f.TransactionID, BookID: f.BookID,
		Amount: f.Amount, Paid: f.Paid, Outstanding: f.Outstanding(), Currency: f.Currency,
		Status: oas.FeeStatus(f.Status()), AssessedAt: f.AssessedAt,
	}
	if f.WaivedAt != nil {
		out.WaivedAt = oas.NewOptDateTime(*f.WaivedAt)
		out.WaiveReason = oas.NewOptString(f.WaiveReason)
	}
	return out
}
