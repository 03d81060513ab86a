"""Seeds the Tryton test database for the Tryton adapter tests (run by scripts/tryton-start).

    .venv-tryton/bin/python scripts/tryton-seed.py CONFIG_FILE DATABASE

The gateway user's password comes from the environment (CAUSEWAY_TRYTON_PASSWORD), never from
a file in git. Every step finds before it creates, so running the script again is harmless
(scripts/tryton-start runs it again when the password changes).

What it makes, for the purchase orders the nordic-fasteners mapping produces:
- the company Konepaja Oy in EUR, the currency SEK with a rate (the supplier prices in SEK);
- a minimal chart of accounts with expense/payable defaults and fiscal years 2025-2028 with
  periods (confirming a purchase creates its draft supplier invoice);
- the supplier party with the code NF-SE-01 and an invoice address;
- purchasable goods with the product codes of Mappings/nordic-fasteners/crosswalks/sku.csv;
  FAST-WASH-M8 is bought by weight (kg), the others by the piece (u) — see PRODUCTS;
- the user `gateway` in the Purchase group, with the password from the environment, and in the
  Purchase Amendment group where the purchase_amendment module is activated (only that group may
  validate an amendment of a confirmed purchase).
"""

import datetime
import os
import sys
from decimal import Decimal

from proteus import Model, Wizard, config as proteus_config

# Product code -> (name, unit symbol). A Tryton product is bought in units of one category: the
# nordic-fasteners mapping sends washers in kilograms (kilograms fixture) *and* in pieces
# (unicode-descriptions fixture), so one of the two must be refused by the ERP. Washers are
# sold loose by weight here; the pieces order is the one Tryton rejects.
PRODUCTS = {
    "FAST-M8X40": ("Hexagon bolt M8x40 A2-70", "u"),
    "FAST-M10X60": ("Hexagon bolt M10x60 A4-80", "u"),
    "FAST-NUT-M10": ("Lock nut M10 nylon class 8", "u"),
    "FAST-WASH-M8": ("Washer M8 DIN 125 zinc plated", "kg"),
}
SUPPLIER_CODE = "NF-SE-01"
GATEWAY_LOGIN = "gateway"
# The gateway user's groups; a group whose module is not activated is skipped.
GATEWAY_GROUPS = ("Purchase", "Purchase Amendment")


def log(message):
    print(f"tryton-seed: {message}", file=sys.stderr, flush=True)


def one(model, domain):
    found = Model.get(model).find(domain, limit=1)
    return found[0] if found else None


def currency(code, name, symbol, rate):
    Currency = Model.get("currency.currency")
    existing = one("currency.currency", [("code", "=", code)])
    if existing:
        return existing
    record = Currency(name=name, code=code, symbol=symbol, rounding=Decimal("0.01"))
    record.save()
    Model.get("currency.currency.rate")(date=datetime.date(2000, 1, 1), rate=rate, currency=record).save()
    return record


def main():
    config_file, database = sys.argv[1], sys.argv[2]
    password = os.environ.get("CAUSEWAY_TRYTON_PASSWORD")
    if not password:
        sys.exit("tryton-seed: CAUSEWAY_TRYTON_PASSWORD is not set")
    config = proteus_config.set_trytond(database, config_file=config_file)
    User = Model.get("res.user")

    eur = currency("EUR", "Euro", "€", Decimal("1.0"))
    sek = currency("SEK", "Swedish krona", "kr", Decimal("11.50"))

    # The company.
    Company = Model.get("company.company")
    if not Company.find([]):
        log("company Konepaja Oy")
        party = Model.get("party.party")(name="Konepaja Oy")
        party.save()
        wizard = Wizard("company.company.config")
        wizard.execute("company")
        wizard.form.party = party
        wizard.form.currency = eur
        wizard.execute("add")
    company = Company.find([])[0]
    config._context = User.get_preferences(True, {})

    # A minimal chart of accounts with default expense and payable accounts.
    Account = Model.get("account.account")
    if not Account.find([("company", "=", company.id)], limit=1):
        log("chart of accounts")
        ModelData = Model.get("ir.model.data")
        template = Model.get("account.account.template")(
            ModelData.get_id("account", "account_template_root_en", config.context))
        chart = Wizard("account.create_chart")
        chart.execute("account")
        chart.form.account_template = template
        chart.form.company = company
        chart.execute("create_account")

        def by_type(kind):
            return Account.find([(f"type.{kind}", "=", True), ("company", "=", company.id), ("closed", "!=", True)], limit=1)[0]

        chart.form.account_receivable = by_type("receivable")
        chart.form.account_payable = by_type("payable")
        chart.form.category_account_expense = by_type("expense")
        chart.form.category_account_revenue = by_type("revenue")
        chart.execute("create_properties")
    expense = Account.find([("type.expense", "=", True), ("company", "=", company.id), ("closed", "!=", True)], limit=1)[0]
    revenue = Account.find([("type.revenue", "=", True), ("company", "=", company.id), ("closed", "!=", True)], limit=1)[0]

    # Fiscal years around the fixtures' dates (November 2026) and today.
    FiscalYear = Model.get("account.fiscalyear")
    SequenceStrict = Model.get("ir.sequence.strict")
    move_type = Model.get("ir.sequence.type").find([("name", "=", "Account Move")], limit=1)[0]
    invoice_type = Model.get("ir.sequence.type").find([("name", "=", "Invoice")], limit=1)[0]
    years = set(range(2025, 2029)) | {datetime.date.today().year}
    for year in sorted(years):
        if FiscalYear.find([("name", "=", str(year)), ("company", "=", company.id)]):
            continue
        log(f"fiscal year {year}")
        sequence = SequenceStrict(name=str(year), sequence_type=move_type, company=company)
        sequence.save()
        fiscal = FiscalYear(name=str(year), start_date=datetime.date(year, 1, 1), end_date=datetime.date(year, 12, 31),
                            company=company, move_sequence=sequence)
        invoices = SequenceStrict(name=f"Invoices {year}", sequence_type=invoice_type, company=company)
        invoices.save()
        numbering = fiscal.invoice_sequences[0] if fiscal.invoice_sequences else fiscal.invoice_sequences.new()
        numbering.in_invoice_sequence = numbering.in_credit_note_sequence = invoices
        numbering.out_invoice_sequence = numbering.out_credit_note_sequence = invoices
        fiscal.save()
        fiscal.click("create_period")

    # The supplier, with the code the mapping sends.
    Party = Model.get("party.party")
    if not Party.find([("code", "=", SUPPLIER_CODE)]):
        log(f"supplier {SUPPLIER_CODE}")
        configuration = Model.get("party.configuration")(1)
        sequence = configuration.party_sequence
        configuration.party_sequence = None
        configuration.save()
        supplier = Party(name="Nordic Fasteners AB", code=SUPPLIER_CODE)
        address = supplier.addresses[0] if supplier.addresses else supplier.addresses.new()
        address.street = "Verkstadsgatan 4"
        address.postal_code = "41705"
        address.city = "Göteborg"
        supplier.save()
        configuration = Model.get("party.configuration")(1)
        configuration.party_sequence = sequence
        configuration.save()

    # Products with the mapping's product codes.
    Category = Model.get("product.category")
    category = one("product.category", [("name", "=", "Fasteners")])
    if not category:
        category = Category(name="Fasteners", accounting=True, account_expense=expense, account_revenue=revenue)
        category.save()
    Uom = Model.get("product.uom")
    Template = Model.get("product.template")
    for code, (name, symbol) in PRODUCTS.items():
        if Model.get("product.product").find([("code", "=", code)]):
            continue
        log(f"product {code} in {symbol}")
        unit = Uom.find([("symbol", "=", symbol)], limit=1)[0]
        template = Template(name=name, code=code, type="goods", default_uom=unit, purchasable=True, purchase_uom=unit,
                            list_price=Decimal("0"), cost_price_method="fixed", account_category=category)
        template.save()

    # The gateway's user, in the Purchase group (and Purchase Amendment, when that module is
    # activated), with the password from the environment.
    Group = Model.get("res.group")
    user = one("res.user", [("login", "=", GATEWAY_LOGIN)])
    if not user:
        log(f"user {GATEWAY_LOGIN}")
        user = User(name="Causeway gateway", login=GATEWAY_LOGIN)
    for name in GATEWAY_GROUPS:
        group = one("res.group", [("name", "=", name)])
        if not group and name == "Purchase":
            sys.exit("tryton-seed: no Purchase group; is the purchase module activated?")
        if group and group not in user.groups:
            user.groups.append(Group(group.id))
    if company not in user.companies:
        user.companies.append(Company(company.id))
    user.company = Company(company.id)
    user.password = password
    user.save()
    log("seeded")


if __name__ == "__main__":
    main()
