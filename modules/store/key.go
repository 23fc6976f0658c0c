package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Key owner types (owner_type_enum).
const (
	KeyOwnerSystem   = "system"
	KeyOwnerIdentity = "identity"
	KeyOwnerPack     = "pack"
	KeyOwnerAction   = "action"
	KeyOwnerSensor   = "sensor"
)

// Key is one stored secret or config value (spec §1.3, §9.5). Value is the
// JSON value as stored: for encrypted keys a JSON string holding
// base64(nonce‖ciphertext‖tag), to be opened with security.SecretBox using
// Ref as associated data.
type Key struct {
	ID                int64
	Ref               string
	LocalRef          *string
	OwnerType         string
	Owner             string
	OwnerIdentity     *int64
	OwnerPack         *int64
	OwnerAction       *int64
	OwnerSensor       *int64
	OwnerPackRef      *string
	OwnerActionRef    *string
	OwnerSensorRef    *string
	Name              string
	Encrypted         bool
	EncryptionKeyHash *string
	Value             json.RawMessage
	Created           time.Time
	Updated           time.Time
}

func keyFromRow(r dbsqlc.Key) Key {
	return Key{
		ID: r.ID, Ref: r.Ref, LocalRef: r.LocalRef, OwnerType: string(r.OwnerType), Owner: r.Owner,
		OwnerIdentity: r.OwnerIdentity, OwnerPack: r.OwnerPack, OwnerAction: r.OwnerAction,
		OwnerSensor: r.OwnerSensor, OwnerPackRef: r.OwnerPackRef, OwnerActionRef: r.OwnerActionRef,
		OwnerSensorRef: r.OwnerSensorRef, Name: r.Name, Encrypted: r.Encrypted,
		EncryptionKeyHash: r.EncryptionKeyHash, Value: r.Value, Created: r.Created, Updated: r.Updated,
	}
}

func keysFromRows(rows []dbsqlc.Key) []Key {
	out := make([]Key, len(rows))
	for i, r := range rows {
		out[i] = keyFromRow(r)
	}
	return out
}

// NewKey is the input to KeyInsert. Exactly the owner FK matching OwnerType
// must be set (system keys set none); the database trigger enforces it.
type NewKey struct {
	Ref               string
	LocalRef          *string
	OwnerType         string
	OwnerIdentity     *int64
	OwnerPack         *int64
	OwnerAction       *int64
	OwnerSensor       *int64
	OwnerPackRef      *string
	OwnerActionRef    *string
	OwnerSensorRef    *string
	Name              string
	Encrypted         bool
	EncryptionKeyHash *string
	Value             json.RawMessage
}

// KeyInsert stores a key; a taken ref or (owner, name) is domain.ErrConflict.
func (d *DB) KeyInsert(ctx context.Context, n NewKey) (Key, error) {
	ot := dbsqlc.OwnerTypeEnum(n.OwnerType)
	if !ot.Valid() {
		return Key{}, domain.Invalidf("owner_type", "unknown owner type %q", n.OwnerType)
	}
	row, err := d.q.KeyInsert(ctx, d.db, dbsqlc.KeyInsertParams{
		Ref: n.Ref, LocalRef: n.LocalRef, OwnerType: ot, OwnerIdentity: n.OwnerIdentity,
		OwnerPack: n.OwnerPack, OwnerAction: n.OwnerAction, OwnerSensor: n.OwnerSensor,
		OwnerPackRef: n.OwnerPackRef, OwnerActionRef: n.OwnerActionRef, OwnerSensorRef: n.OwnerSensorRef,
		Name: n.Name, Encrypted: n.Encrypted, EncryptionKeyHash: n.EncryptionKeyHash, Value: n.Value,
	})
	if err != nil {
		return Key{}, interpretError(err, fmt.Sprintf("create key %q", n.Ref))
	}
	return keyFromRow(row), nil
}

// KeyGetByRef returns one key by its canonical ref.
func (d *DB) KeyGetByRef(ctx context.Context, ref string) (Key, error) {
	row, err := d.q.KeyGetByRef(ctx, d.db, ref)
	if err != nil {
		return Key{}, interpretError(err, fmt.Sprintf("key %q", ref))
	}
	return keyFromRow(row), nil
}

// KeyUpdate replaces name, encryption state and value of the key ref.
func (d *DB) KeyUpdate(ctx context.Context, ref, name string, encrypted bool, keyHash *string, value json.RawMessage) (Key, error) {
	row, err := d.q.KeyUpdate(ctx, d.db, dbsqlc.KeyUpdateParams{
		Ref: ref, Name: name, Encrypted: encrypted, EncryptionKeyHash: keyHash, Value: value,
	})
	if err != nil {
		return Key{}, interpretError(err, fmt.Sprintf("key %q", ref))
	}
	return keyFromRow(row), nil
}

// KeyDeleteByRef deletes one key; a missing key is domain.ErrNotFound.
func (d *DB) KeyDeleteByRef(ctx context.Context, ref string) error {
	n, err := d.q.KeyDeleteByRef(ctx, d.db, ref)
	if err != nil {
		return interpretError(err, fmt.Sprintf("key %q", ref))
	}
	if n == 0 {
		return domain.NotFoundf("key %q", ref)
	}
	return nil
}

// KeyFilter narrows KeyListPage/KeyCount. Empty fields match everything.
// Owner matches the owner column (an id as text, or "system") or any owner
// ref (pack, action or sensor ref).
type KeyFilter struct {
	OwnerType string
	Owner     string
}

func (f KeyFilter) params() (*dbsqlc.OwnerTypeEnum, *string, error) {
	var ot *dbsqlc.OwnerTypeEnum
	if f.OwnerType != "" {
		v := dbsqlc.OwnerTypeEnum(f.OwnerType)
		if !v.Valid() {
			return nil, nil, domain.Invalidf("owner_type", "unknown owner type %q", f.OwnerType)
		}
		ot = &v
	}
	return ot, strParam(f.Owner), nil
}

// KeyListPage returns keys newest first, limit rows after skipping offset.
func (d *DB) KeyListPage(ctx context.Context, f KeyFilter, offset, limit int32) ([]Key, error) {
	ot, owner, err := f.params()
	if err != nil {
		return nil, err
	}
	rows, err := d.q.KeyListPage(ctx, d.db, dbsqlc.KeyListPageParams{
		OwnerType: ot, Owner: owner, PageOffset: offset, PageLimit: limit,
	})
	if err != nil {
		return nil, interpretError(err, "list keys")
	}
	return keysFromRows(rows), nil
}

// KeyCount counts the keys matching f.
func (d *DB) KeyCount(ctx context.Context, f KeyFilter) (int64, error) {
	ot, owner, err := f.params()
	if err != nil {
		return 0, err
	}
	n, err := d.q.KeyCount(ctx, d.db, dbsqlc.KeyCountParams{OwnerType: ot, Owner: owner})
	return n, interpretError(err, "count keys")
}

// KeyListForAction returns the keys delivered to an action (spec §4.2 step 3)
// in precedence order: every system key, then keys owned by packRef, then keys
// owned by actionRef. A caller merging them by Name in slice order gets
// "action overrides pack overrides system". Values are as stored; the caller
// decrypts encrypted ones with security.SecretBox (aad = Ref).
func (d *DB) KeyListForAction(ctx context.Context, packRef, actionRef string) ([]Key, error) {
	rows, err := d.q.KeyListForAction(ctx, d.db, dbsqlc.KeyListForActionParams{
		PackRef: &packRef, ActionRef: &actionRef,
	})
	if err != nil {
		return nil, interpretError(err, fmt.Sprintf("keys for action %q", actionRef))
	}
	return keysFromRows(rows), nil
}
