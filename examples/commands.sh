#!/usr/bin/env bash
# Commands to a device: a queued one answered by a gateway over HTTP, then a direct one answered by a
# device observing its commands over CoAP (libcoap's coap-client-notls). Run from the repository root
# while `npm start` serves.
set -euo pipefail
API=${API:-http://127.0.0.1:8080}
COAP=${COAP:-coap://127.0.0.1:5683}
ADMIN=${ADMIN:-$(cat data/admin-token)}
WORK=$(mktemp -d)   # what the background device and caller print
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT   # also after a failed check
# Prints a reply, and stops the walkthrough unless the reply holds every expected fragment.
expect() { local reply=$1; shift; printf '%s\n' "$reply"; for want; do [[ $reply == *"$want"* ]] || { echo "expected $want" >&2; exit 1; }; done; }
# The "id" of the first command in a reply.
command_id() { sed -n 's/^[^{]*{"id":"\([^"]*\)".*/\1/p; s/.*"commands":\[{"id":"\([^"]*\)".*/\1/p' | head -n 1; }

# Start over, so the walkthrough can run again: delete the twin an earlier run left (404 if none).
curl -s -o /dev/null -X DELETE "$API/v1/twins/pump-3" -H "Authorization: Bearer $ADMIN" \
  || { echo "cannot reach $API: start the server first (npm start)" >&2; exit 1; }
curl -s -o /dev/null -X POST "$API/v1/twins" -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"id":"pump-3","desired":{"rpm":1200}}'
DEVICE=$(curl -s -X POST "$API/v1/twins/pump-3/token" -H "Authorization: Bearer $ADMIN" | sed 's/.*"token":"\([^"]*\)".*/\1/')

# 1. Queued (ttlSeconds): stored durably, 202 + Location, delivered when the device next makes contact.
REPLY=$(curl -si -X POST "$API/v1/twins/pump-3/commands" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' -d '{"name":"flush","payload":{"seconds":5},"ttlSeconds":3600}')
expect "$REPLY" 'HTTP/1.1 202' 'location: /v1/twins/pump-3/commands/' '"status":"queued"'
CID=$(printf '%s\n' "$REPLY" | tail -n 1 | command_id)
# A gateway, with the device token, fetches the queued commands (which marks them delivered) ...
expect "$(curl -s "$API/v1/twins/pump-3/commands?status=queued" -H "Authorization: Bearer $DEVICE")" \
  "\"id\":\"$CID\"" '"name":"flush"' '"payload":{"seconds":5}'
# ... and answers: the first answer wins; a second one gets 409 command_ended.
expect "$(curl -s -X POST "$API/v1/twins/pump-3/commands/$CID/result" -H "Authorization: Bearer $DEVICE" \
  -H 'content-type: application/json' -d '{"status":"succeeded","result":{"flushed":true}}')" '"status":"succeeded"'
expect "$(curl -s -X POST "$API/v1/twins/pump-3/commands/$CID/result" -H "Authorization: Bearer $DEVICE" \
  -H 'content-type: application/json' -d '{"status":"failed"}')" '"code":"command_ended"'
# The integrator reads it (waitMs long-polls until it ends; it already has).
expect "$(curl -s "$API/v1/twins/pump-3/commands/$CID?waitMs=60000" -H "Authorization: Bearer $ADMIN")" \
  '"status":"succeeded"' '"result":{"flushed":true}'

# 2. Direct (no ttlSeconds) with no device listening: 409 device_offline at once, nothing stored.
expect "$(curl -s -X POST "$API/v1/twins/pump-3/commands" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' -d '{"name":"stop","timeoutMs":5000}')" '"status":409' '"code":"device_offline"'

# 3. Direct with the device observing /t/pump-3/commands over CoAP (a live session): the caller waits
#    up to timeoutMs for the device's answer. -w ends each notification with a newline.
touch "$WORK/device.log"
coap-client-notls -w -s 60 -m get "$COAP/t/pump-3/commands?token=$DEVICE" > "$WORK/device.log" & OBSERVER=$!
until [ -s "$WORK/device.log" ]; do kill -0 $OBSERVER; sleep 0.1; done   # registered: the open commands, []
curl -s -X POST "$API/v1/twins/pump-3/commands" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' -d '{"name":"stop","payload":{"drain":true},"timeoutMs":20000}' > "$WORK/caller.log" & CALLER=$!
until grep -q '"name":"stop"' "$WORK/device.log"; do kill -0 $OBSERVER; sleep 0.1; done
expect "$(cat "$WORK/device.log")" '"name":"stop"' '"payload":{"drain":true}'
CID=$(grep '"name":"stop"' "$WORK/device.log" | sed 's/.*"id":"\([^"]*\)","name":"stop".*/\1/')
# The device answers over CoAP: 2.04.
coap-client-notls -m post -t 50 -e '{"status":"succeeded","result":{"stoppedAt":1200}}' \
  "$COAP/t/pump-3/commands/$CID?token=$DEVICE"
kill $OBSERVER; wait $CALLER
expect "$(cat "$WORK/caller.log")" "\"id\":\"$CID\"" '"status":"succeeded"' '"result":{"stoppedAt":1200}'
