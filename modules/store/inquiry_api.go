package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Inquiry is a question an execution asks a human (spec §9.2 Inquiries).
type Inquiry struct {
	ID             int64
	Execution      int64
	Prompt         *string
	ResponseSchema json.RawMessage
	AssignedTo     *int64
	Status         string
	Response       json.RawMessage
	TimeoutAt      *time.Time
	RespondedAt    *time.Time
	Created        time.Time
	Updated        time.Time
}

func inquiryFromRow(r dbsqlc.Inquiry) Inquiry {
	return Inquiry{ID: r.ID, Execution: r.Execution, Prompt: r.Prompt, ResponseSchema: r.ResponseSchema,
		AssignedTo: r.AssignedTo, Status: string(r.Status), Response: r.Response, TimeoutAt: r.TimeoutAt,
		RespondedAt: r.RespondedAt, Created: r.Created, Updated: r.Updated}
}

// NewInquiry is the input to InquiryInsert.
type NewInquiry struct {
	Execution      int64
	Prompt         *string
	ResponseSchema json.RawMessage
	AssignedTo     *int64
	TimeoutAt      *time.Time
}

// InquiryInsert creates a pending inquiry; an execution has at most one
// (domain.ErrConflict for a second).
func (d *DB) InquiryInsert(ctx context.Context, n NewInquiry) (Inquiry, error) {
	row, err := d.q.InquiryInsert(ctx, d.db, dbsqlc.InquiryInsertParams{Execution: n.Execution, Prompt: n.Prompt,
		ResponseSchema: n.ResponseSchema, AssignedTo: n.AssignedTo, TimeoutAt: n.TimeoutAt})
	if err != nil {
		return Inquiry{}, interpretError(err, fmt.Sprintf("inquiry for execution %d", n.Execution))
	}
	return inquiryFromRow(row), nil
}

// InquiryGet returns one inquiry.
func (d *DB) InquiryGet(ctx context.Context, id int64) (Inquiry, error) {
	row, err := d.q.InquiryGet(ctx, d.db, id)
	if err != nil {
		return Inquiry{}, interpretError(err, fmt.Sprintf("inquiry %d", id))
	}
	return inquiryFromRow(row), nil
}

// InquiryList returns up to limit inquiries newest first, optionally only
// those in status.
func (d *DB) InquiryList(ctx context.Context, status string, limit int32) ([]Inquiry, error) {
	p := dbsqlc.InquiryListParams{PageLimit: limit}
	if status != "" {
		s := dbsqlc.InquiryStatusEnum(status)
		if !s.Valid() {
			return nil, domain.Invalidf("status", "unknown inquiry status %q", status)
		}
		p.Status = &s
	}
	rows, err := d.q.InquiryList(ctx, d.db, p)
	if err != nil {
		return nil, interpretError(err, "list inquiries")
	}
	out := make([]Inquiry, len(rows))
	for i, r := range rows {
		out[i] = inquiryFromRow(r)
	}
	return out, nil
}

// InquiryRespond records the response of a pending inquiry. The first
// response wins: a non-pending inquiry is domain.ErrConflict.
func (d *DB) InquiryRespond(ctx context.Context, id int64, response json.RawMessage) (Inquiry, error) {
	row, err := d.q.InquiryRespond(ctx, d.db, dbsqlc.InquiryRespondParams{ID: id, Response: response})
	if err == nil {
		return inquiryFromRow(row), nil
	}
	err = interpretError(err, fmt.Sprintf("inquiry %d", id))
	if errors.Is(err, domain.ErrNotFound) {
		if _, gerr := d.InquiryGet(ctx, id); gerr == nil {
			return Inquiry{}, domain.Conflictf("inquiry %d was already answered or closed", id)
		}
	}
	return Inquiry{}, err
}
