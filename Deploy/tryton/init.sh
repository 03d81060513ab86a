#!/bin/sh
# Initialises and seeds the compose stack's Tryton database once (the tryton-init service of
# Deploy/compose.yaml), as scripts/tryton-start does for the tests: an empty SQLite file, then
# trytond-admin with the purchase module, then scripts/tryton-seed.py (company, chart of
# accounts, fiscal years, supplier NF-SE-01, the products, the user `gateway`). Seeding again is
# harmless (every step finds before it creates). The password of `admin` and `gateway` comes from
# the compose secret tryton_password, never from a file in git.
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
echo "tryton-init: seeding" >&2
CAUSEWAY_TRYTON_PASSWORD="$(cat "$passfile")" python /opt/tryton/tryton-seed.py "$conf" "$db"
