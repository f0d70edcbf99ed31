#!/usr/bin/env bash
# The HTTP twin API with curl: an integrator creates a twin, its device reports, both watch it.
# Run from the repository root while `npm start` serves (the admin token is read from data/).
set -euo pipefail
API=${API:-http://127.0.0.1:8080}
ADMIN=${ADMIN:-$(cat data/admin-token)}
# Prints a reply, and stops the walkthrough unless the reply holds every expected fragment.
expect() { local reply=$1; shift; printf '%s\n' "$reply"; for want; do [[ $reply == *"$want"* ]] || { echo "expected $want" >&2; exit 1; }; done; }
# Start over, so the walkthrough can run again: delete the twin an earlier run left (404 if none).
curl -s -o /dev/null -X DELETE "$API/v1/twins/thermo-42" -H "Authorization: Bearer $ADMIN" \
  || { echo "cannot reach $API: start the server first (npm start)" >&2; exit 1; }

# 1. An integrator creates a twin with a desired state: 201 with Location and ETag, all of it pending.
expect "$(curl -si -X POST "$API/v1/twins" -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"id":"thermo-42","desired":{"temp":21,"mode":"eco"},"tags":{"site":"berlin"}}')" \
  'HTTP/1.1 201' 'location: /v1/twins/thermo-42' 'etag: "1"' '"delta":{"temp":21,"mode":"eco"}' '"inSync":false'

# 2. Change the desired state (JSON Merge Patch); If-Match makes it conditional on the version.
expect "$(curl -s -X PATCH "$API/v1/twins/thermo-42" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/merge-patch+json' -H 'If-Match: "1"' -d '{"desired":{"temp":22}}')" \
  '"version":2' '"desired":{"temp":22,"mode":"eco"}'
# The same condition again fails: the twin is at version 2 now, and nothing changes.
expect "$(curl -s -X PATCH "$API/v1/twins/thermo-42" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/merge-patch+json' -H 'If-Match: "1"' -d '{"desired":{"temp":30}}')" \
  '"status":412' '"code":"version_conflict"'

# 3. Issue the device its token (shown once).
DEVICE=$(curl -s -X POST "$API/v1/twins/thermo-42/token" -H "Authorization: Bearer $ADMIN" | sed 's/.*"token":"\([^"]*\)".*/\1/')
expect "$DEVICE" 'dpd_'

# 4. The device (or its gateway) reports; the reply is its view, with what is still pending.
expect "$(curl -s -X PATCH "$API/v1/twins/thermo-42/reported" -H "Authorization: Bearer $DEVICE" \
  -H 'content-type: application/json' -d '{"temp":22,"mode":"eco","fw":"1.2.0"}')" \
  '{"version":3,"desired":{"temp":22,"mode":"eco"},"reported":{"temp":22,"mode":"eco","fw":"1.2.0"},"delta":{}}'

# 5. Watch it: the twin (converged), a conditional read, its history, a query.
expect "$(curl -s "$API/v1/twins/thermo-42" -H "Authorization: Bearer $ADMIN")" '"version":3' '"inSync":true'
expect "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/twins/thermo-42" -H "Authorization: Bearer $ADMIN" \
  -H 'If-None-Match: "3"')" '304'
expect "$(curl -s "$API/v1/twins/thermo-42/history?since=1" -H "Authorization: Bearer $ADMIN")" \
  '"version":2' '"version":3,' '"via":"http"' '"next":null'
expect "$(curl -s "$API/v1/twins?filter=tags.site%20%3D%3D%20%22berlin%22" -H "Authorization: Bearer $ADMIN")" \
  '"id":"thermo-42"' '"next":null'

# 6. Live Server-Sent Events: a snapshot first, then every change, in order. Each event id is
#    <version>.<incarnation> (the incarnation tells apart a twin deleted and created again).
#    curl -N streams until you stop it; first_event stops it once the first event is in.
EVENTS=$(mktemp)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -f "$EVENTS"' EXIT   # also after a failed check
first_event() {
  : > "$EVENTS"   # emptied here, not by the background redirect, which may come too late for the loop
  curl -sN "$API/v1/twins/thermo-42/events" -H "Authorization: Bearer $ADMIN" "$@" > "$EVENTS" & local stream=$!
  until grep -q '^id: ' "$EVENTS"; do kill -0 $stream || return; sleep 0.1; done
  kill $stream; wait $stream || true; cat "$EVENTS"
}
expect "$(first_event)" 'event: snapshot' 'id: 3.'
LAST=$(sed -n 's/^id: //p' "$EVENTS")
# A change while nobody listens; resuming with Last-Event-ID sends exactly the missed event.
curl -s -o /dev/null -X PATCH "$API/v1/twins/thermo-42" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' -d '{"desired":{"temp":23}}'
expect "$(first_event -H "Last-Event-ID: $LAST")" 'event: change' 'id: 4.' '"patch":{"desired":{"temp":23}}'
