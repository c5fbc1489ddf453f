#!/usr/bin/env bash
# Starts PostgreSQL and RabbitMQ for the tests when they are not running.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
fi
if ! rabbit_up; then
  echo "starting RabbitMQ" >&2
  rabbitmq-server -detached
fi
for _ in $(seq 1 60); do
  if pg_up && rabbit_up; then break; fi
  sleep 1
done
pg_up || { echo "error: PostgreSQL did not start" >&2; exit 1; }
rabbit_up || { echo "error: RabbitMQ did not start" >&2; exit 1; }
# RabbitMQ accepts TCP before it accepts AMQP sessions: wait for the app.
command -v rabbitmqctl >/dev/null && rabbitmqctl await_startup >/dev/null 2>&1 || true

# The tests create their databases there, as a superuser with trust auth.
export RECUEIL_TEST_POSTGRES_URL="${RECUEIL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! psql "$RECUEIL_TEST_POSTGRES_URL" -c 'select 1' >/dev/null 2>&1; then
  # A fresh Debian cluster asks TCP clients for a password: let the local
  # superuser in from the loopback only (a development machine's set-up),
  # and create the database the tests start from.
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "recueil tests" "$hba"; then
    sed -i "1i host all postgres 127.0.0.1/32 trust # recueil tests" "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
  su postgres -c "createdb test" >/dev/null 2>&1 || true
  psql "$RECUEIL_TEST_POSTGRES_URL" -c 'select 1' >/dev/null || {
    echo "error: cannot connect to $RECUEIL_TEST_POSTGRES_URL" >&2; exit 1; }
fi
