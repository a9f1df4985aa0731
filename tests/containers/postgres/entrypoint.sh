# Create the cluster, the user and the database on first start; then serve.
# UTF-8 as in the official image: without a locale initdb picks SQL_ASCII,
# and psycopg then reads text as bytes.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/password
    initdb --username "$POSTGRES_USER" --pwfile /tmp/password --encoding UTF8 --locale C.UTF-8 \
        --auth-local trust --auth-host scram-sha-256 >/dev/null
    rm /tmp/password
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl --wait --silent start -o "-c listen_addresses=''"
    createdb --username "$POSTGRES_USER" "$POSTGRES_DB"
    pg_ctl --wait --silent stop
fi
exec postgres
