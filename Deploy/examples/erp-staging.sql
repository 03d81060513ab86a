-- The reference ERP staging schema: the legacy target of the stahlteile mapping
-- (Mappings/stahlteile/purchase-order.yaml, target erp-staging).
-- external_ref is the agreement's id, agreement_digest its Causeway digest (the idempotency key:
-- UNIQUE, so a retried delivery finds the row it wrote), order_date the date of `issued`,
-- lines numbered from 1, line_amount = quantity × unit price rounded half-even to cents.
-- version: the agreement version applied (NULL = 1, the original); status: open or cancelled —
-- set by changes and cancellations (on_change / on_cancel in the mapping); provenance becomes an
-- array of records, one per version, when a change is applied.
CREATE TABLE IF NOT EXISTS erp_purchase_order (
  po_id bigserial PRIMARY KEY, external_ref text NOT NULL, agreement_digest text NOT NULL UNIQUE,
  supplier_code text NOT NULL, order_date date NOT NULL, currency char(3) NOT NULL,
  total_amount numeric(14,2) NOT NULL, incoterm text, delivery_place text, delivery_date date,
  payment_terms text, provenance jsonb NOT NULL,
  version integer, status text NOT NULL DEFAULT 'open');
CREATE TABLE IF NOT EXISTS erp_purchase_order_line (
  po_id bigint NOT NULL REFERENCES erp_purchase_order(po_id), line_no integer NOT NULL,
  item_code text NOT NULL, description text NOT NULL, quantity numeric(14,3) NOT NULL,
  uom text NOT NULL, unit_price numeric(14,4) NOT NULL, line_amount numeric(14,2) NOT NULL,
  PRIMARY KEY (po_id, line_no));
