#!/usr/bin/env bash
# A device over CoAP with libcoap's coap-client-notls (apt-get install libcoap3-bin): read the twin,
# report, observe, block-wise transfers, CBOR. Run from the repository root while `npm start` serves.
set -euo pipefail
API=${API:-http://127.0.0.1:8080}
COAP=${COAP:-coap://127.0.0.1:5683}
ADMIN=${ADMIN:-$(cat data/admin-token)}
WORK=$(mktemp -d)   # the files this walkthrough sends and receives
# On any exit, also after a failed check: stop the observers still running, remove the files.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Prints a reply, and stops the walkthrough unless the reply holds every expected fragment.
expect() { local reply=$1; shift; printf '%s\n' "$reply"; for want; do [[ $reply == *"$want"* ]] || { echo "expected $want" >&2; exit 1; }; done; }

# Start over, so the walkthrough can run again: delete the twin an earlier run left (404 if none).
curl -s -o /dev/null -X DELETE "$API/v1/twins/boiler-7" -H "Authorization: Bearer $ADMIN" \
  || { echo "cannot reach $API: start the server first (npm start)" >&2; exit 1; }
# An integrator creates the twin and issues its device token, over HTTP.
curl -s -o /dev/null -X POST "$API/v1/twins" -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"id":"boiler-7","desired":{"temp":60,"mode":"eco"}}'
DEVICE=$(curl -s -X POST "$API/v1/twins/boiler-7/token" -H "Authorization: Bearer $ADMIN" | sed 's/.*"token":"\([^"]*\)".*/\1/')
T="?token=$DEVICE"   # the device token goes in the URI query

# Read the device view {version, desired, reported, delta}: JSON unless you ask for CBOR (-A 60).
expect "$(coap-client-notls -m get "$COAP/t/boiler-7$T")" \
  '{"version":1,"desired":{"temp":60,"mode":"eco"},"reported":{},"delta":{"temp":60,"mode":"eco"}}'

# Report state (a JSON Merge Patch of reported, Content-Format 50 = JSON): the 2.04 reply says
# what is still pending.
expect "$(coap-client-notls -m put -t 50 -e '{"temp":60,"fw":"1.2.0"}' "$COAP/t/boiler-7/reported$T")" \
  '{"version":2,"delta":{"mode":"eco"}}'

# Only if the twin is still at version 2: If-Match (option 1) carries the version as an unsigned
# integer in hex. The repeat finds version 3 and fails with 4.12; libcoap prints errors on stderr.
expect "$(coap-client-notls -m put -t 50 -O 1,0x02 -e '{"mode":"eco"}' "$COAP/t/boiler-7/reported$T")" \
  '{"version":3,"delta":{}}'
expect "$(coap-client-notls -m put -t 50 -O 1,0x02 -e '{"mode":"off"}' "$COAP/t/boiler-7/reported$T" 2>&1)" \
  '4.12 version_conflict'

# Observe desired and the delta while an integrator changes desired twice. -s 60 observes for up
# to 60 s; here both are stopped (which deregisters them) once the three notifications are in.
# Without -w, libcoap prints notifications back to back with no separator; -w ends each with a newline.
touch "$WORK/desired.log" "$WORK/delta.log"
coap-client-notls -w -s 60 -m get "$COAP/t/boiler-7/desired$T" > "$WORK/desired.log" & DESIRED=$!
coap-client-notls -w -s 60 -m get "$COAP/t/boiler-7/delta$T" > "$WORK/delta.log" & DELTA=$!
notified() { (( $(wc -l < "$WORK/desired.log") >= $1 && $(wc -l < "$WORK/delta.log") >= $1 )); }
until notified 1; do kill -0 $DESIRED $DELTA; sleep 0.1; done   # both registered: current values in
for temp in 65 70; do
  curl -s -o /dev/null -X PATCH "$API/v1/twins/boiler-7" -H "Authorization: Bearer $ADMIN" \
    -H 'content-type: application/json' -d "{\"desired\":{\"temp\":$temp}}"
done
until notified 3; do kill -0 $DESIRED $DELTA; sleep 0.1; done
kill $DESIRED $DELTA; wait
expect "$(cat "$WORK/desired.log")" $'{"temp":60,"mode":"eco"}\n{"temp":65,"mode":"eco"}\n{"temp":70,"mode":"eco"}'
expect "$(cat "$WORK/delta.log")" $'{}\n{"temp":65}\n{"temp":70}'

# Upload a report bigger than one block in 64-byte blocks (Block1), read the twin likewise (Block2).
printf '{"temp":70,"log":"%s"}' "$(printf 'boot ok; %.0s' {1..20})" > "$WORK/report.json"
expect "$(coap-client-notls -m put -b 64 -t 50 -f "$WORK/report.json" "$COAP/t/boiler-7/reported$T")" \
  '{"version":6,"delta":{}}'
expect "$(coap-client-notls -m get -b 64 "$COAP/t/boiler-7$T")" '"log":"boot ok; boot ok; ' '"delta":{}}'

# CBOR (Content-Format 60) in and out, non-confirmable (-N). {"temp":71} is 7 bytes: a1 = a map of
# one pair, 64 = a text of 4 bytes, 18 47 = the integer 71. (Or: node -e "process.stdout.write(
# require('cbor-x').encode({temp: 71}))" > report.cbor.) The reply {version: 7, delta: {temp: 70}}.
printf '\xa1\x64temp\x18\x47' > "$WORK/report.cbor"
coap-client-notls -N -m post -t 60 -A 60 -f "$WORK/report.cbor" -o "$WORK/reply.cbor" "$COAP/t/boiler-7/reported$T"
expect "$(od -An -tx1 "$WORK/reply.cbor")" 'a2 67 76 65 72 73 69 6f 6e 07 65 64 65 6c 74 61'

# Discovery (RFC 6690): with the token, the device's own resources; obs marks the observable ones.
expect "$(coap-client-notls -m get "$COAP/.well-known/core$T")" '</t/boiler-7/desired>;rt="doppel.desired";ct="50 60";obs'
