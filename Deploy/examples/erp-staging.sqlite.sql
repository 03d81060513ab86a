-- The SQLite twin of the reference ERP staging schema (erp-staging.sql), for the embedded demo
-- target. Money, quantities and dates are TEXT holding the canonical decimal or ISO text, so that
-- SQLite's numeric affinity can never turn "1570.00" into a binary float.
CREATE TABLE IF NOT EXISTS erp_purchase_order (
  po_id INTEGER PRIMARY KEY AUTOINCREMENT, external_ref TEXT NOT NULL, agreement_digest TEXT NOT NULL UNIQUE,
  supplier_code TEXT NOT NULL, order_date TEXT NOT NULL, currency TEXT NOT NULL,
  total_amount TEXT NOT NULL, incoterm TEXT, delivery_place TEXT, delivery_date TEXT,
  payment_terms TEXT, provenance TEXT NOT NULL,
  version INTEGER, status TEXT NOT NULL DEFAULT 'open');
CREATE TABLE IF NOT EXISTS erp_purchase_order_line (
  po_id INTEGER NOT NULL REFERENCES erp_purchase_order(po_id), line_no INTEGER NOT NULL,
  item_code TEXT NOT NULL, description TEXT NOT NULL, quantity TEXT NOT NULL,
  uom TEXT NOT NULL, unit_price TEXT NOT NULL, line_amount TEXT NOT NULL,
  PRIMARY KEY (po_id, line_no));
