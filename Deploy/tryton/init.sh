#!/bin/sh
# Initialises and seeds the compose stack's Tryton database once (the tryton-init service of
# Deploy/compose.yaml), as scripts/tryton-start does for the tests: an empty SQLite file, then
# trytond-admin with the purchase module, then purchase_amendment activated (also in a volume
# initialised before it was added), then scripts/tryton-seed.py (company, chart of accounts,
# fiscal years, supplier NF-SE-01, the products, the user `gateway` in the groups Purchase and
# Purchase Amendment). Seeding again is harmless (every step finds before it creates). The
# password of `admin` and `gateway` comes from the compose secret tryton_password, never from a
# file in git.
set -eu
db="${TRYTON_DATABASE:-causeway}"
conf=/etc/trytond.conf
state=/var/lib/trytond
passfile="${TRYTON_PASSWORD_FILE:-/run/secrets/tryton_password}"
[ -s "$passfile" ] || { echo "tryton-init: $passfile is missing or empty (set TRYTON_PASSWORD before compose up)" >&2; exit 1; }
if [ ! -f "$state/initialised" ]; then
  echo "tryton-init: initialising the database $db with the purchase module (about a minute)" >&2
  rm -f "$state/$db.sqlite"
  touch "$state/$db.sqlite"
  TRYTONPASSFILE="$passfile" trytond-admin -c "$conf" -d "$db" --all -u purchase --activate-dependencies --email admin@example.com
  touch "$state/initialised"
fi
if [ ! -f "$state/amendment-activated" ]; then
  echo "tryton-init: activating purchase_amendment (and purchase_history) in the database $db" >&2
  trytond-admin -c "$conf" -d "$db" -u purchase_amendment --activate-dependencies
  touch "$state/amendment-activated"
fi
echo "tryton-init: seeding" >&2
CAUSEWAY_TRYTON_PASSWORD="$(cat "$passfile")" python /opt/tryton/tryton-seed.py "$conf" "$db"
