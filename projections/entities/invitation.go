package entities

import (
	"context"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Kinds of a property's membership documents.
const (
	KindInvitation = "propertyInvitation"
	KindMember     = "propertyMember"
)

// Invitation is the output of GET /properties/{propertyId}/invitations but
// for `email`, which the stored document keeps only sealed (SealedEmail)
// and the API opens at read time. Only pending invitations are listed: an
// accepted or withdrawn one has a deleted row, and its status says which.
type Invitation struct {
	InvitationID string               `json:"invitationId"`
	PropertyID   string               `json:"propertyId"`
	Role         string               `json:"role"`
	Overrides    invitation.Overrides `json:"overrides"`
	Status       string               `json:"status"`
	AcceptedBy   string               `json:"acceptedBy,omitempty"`
	SealedEmail  string               `json:"sealedEmail,omitempty"`
	Base
}

// Public implements Privater: the document without the sealed e-mail.
func (i Invitation) Public() any {
	i.SealedEmail = ""
	return i
}

// Member is the output of GET /properties/{propertyId}/members: a user's
// role in a property, the overrides, and the permissions they make (`[]`
// when the overrides removed every one). Its row's id is
// MemberID(propertyId, userId).
type Member struct {
	UserID       string               `json:"userId"`
	PropertyID   string               `json:"propertyId"`
	Role         string               `json:"role"`
	Overrides    invitation.Overrides `json:"overrides"`
	Permissions  []domain.Permission  `json:"permissions"`
	InvitationID string               `json:"invitationId,omitempty"`
	Base
}

// MemberID is the document id of a user's membership of a property.
func MemberID(propertyID, userID string) string { return propertyID + "/" + userID }

func invitationHandlers() map[string]Handler {
	return map[string]Handler{
		invitation.PropertyInvitationCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(invitation.PropertyInvitationCreated)
			if _, _, found, err := Load[Invitation](ctx, tx, KindInvitation, e.InvitationID.String()); err != nil || found {
				return err // a re-delivered creation must not undo later changes
			}
			doc := Invitation{InvitationID: e.InvitationID.String(), PropertyID: e.PropertyID.String(), Role: string(e.Role),
				Overrides: e.Overrides, Status: string(invitation.StatusPending), SealedEmail: e.SealedEmail,
				Base: NewBase(KindInvitation, env)}
			return Save(ctx, tx, Row{Kind: KindInvitation, ID: doc.InvitationID, AccountID: e.AccountID.String(),
				PropertyID: doc.PropertyID, Position: env.Position, Applied: env.Position, State: StateActive}, doc)
		},
		invitation.PropertyInvitationWithdrawn{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(invitation.PropertyInvitationWithdrawn)
			return Update(ctx, tx, KindInvitation, e.InvitationID.String(), env, func(d *Invitation, r *Row) error {
				d.Status, d.TypeState, r.State = string(invitation.StatusWithdrawn), StateDeleted, StateDeleted
				return nil
			})
		},
		invitation.PropertyInvitationAccepted{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(invitation.PropertyInvitationAccepted)
			err := Update(ctx, tx, KindInvitation, e.InvitationID.String(), env, func(d *Invitation, r *Row) error {
				d.Status, d.AcceptedBy, d.TypeState, r.State = string(invitation.StatusAccepted), e.UserID.String(), StateDeleted, StateDeleted
				return nil
			})
			if err != nil {
				return err
			}
			id := MemberID(e.PropertyID.String(), e.UserID.String())
			_, row, found, err := Load[Member](ctx, tx, KindMember, id)
			if err != nil || (found && row.Applied >= env.Position) {
				return err
			}
			doc := Member{UserID: e.UserID.String(), PropertyID: e.PropertyID.String(), Role: string(e.Role), Overrides: e.Overrides,
				Permissions: memberPermissions(e.Role, e.Overrides), InvitationID: e.InvitationID.String(),
				Base: NewBase(KindMember, env)}
			return Save(ctx, tx, Row{Kind: KindMember, ID: id, AccountID: e.AccountID.String(), PropertyID: doc.PropertyID,
				ParentID: doc.UserID, Position: env.Position, Applied: env.Position, State: StateActive}, doc)
		},
		invitation.PropertyMemberUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(invitation.PropertyMemberUpdated)
			return Update(ctx, tx, KindMember, MemberID(e.PropertyID.String(), e.UserID.String()), env, func(d *Member, _ *Row) error {
				d.Role, d.Overrides, d.Permissions = string(e.Role), e.Overrides, memberPermissions(e.Role, e.Overrides)
				return nil
			})
		},
		invitation.PropertyMemberRemoved{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(invitation.PropertyMemberRemoved)
			return Update(ctx, tx, KindMember, MemberID(e.PropertyID.String(), e.UserID.String()), env, func(d *Member, r *Row) error {
				d.TypeState, r.State = StateDeleted, StateDeleted
				return nil
			})
		},
	}
}

// memberPermissions are a member's permissions as the document shows them:
// `[]`, never null, when the overrides removed every one.
func memberPermissions(r invitation.Role, o invitation.Overrides) []domain.Permission {
	if ps := invitation.Permissions(r, o); ps != nil {
		return ps
	}
	return []domain.Permission{}
}
