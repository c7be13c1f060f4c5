#!/usr/bin/env bash
# Generates a local certificate authority and one certificate per service for splitinfer's TLS and
# mutual TLS (see docs/SECURITY.md).
#
#   scripts/gen-certs.sh OUTDIR [NAME...]
#
# Writes into OUTDIR (created if missing; existing files are overwritten):
#   ca.pem, ca.key                  the CA (keep ca.key offline; services need only ca.pem)
#   <svc>.pem, <svc>.key            certificate and PKCS#8 private key (EC P-256) for each of
#                                   edge, channel-sim, controller, ue, operator
# Each certificate has subject CN=<svc> (CN=$UE_ID for the UE, default ue-1), OU=<role> (the role
# the services authorise: edge, channel-sim, controller, ue, operator), serverAuth + clientAuth
# usage, and subject alternative names localhost, 127.0.0.1, ::1, <svc> and every NAME given
# (e.g. the docker-compose service names). Validity: DAYS (default 825).
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
command -v openssl >/dev/null || { echo "gen-certs.sh: openssl not found" >&2; exit 1; }

out=$1
shift
days=${DAYS:-825}
ue_id=${UE_ID:-ue-1}
mkdir -p "$out"
umask 077

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/ca.key" 2>/dev/null
openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" \
  -subj "/O=splitinfer/OU=ca/CN=splitinfer local CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.pem"

for svc in edge channel-sim controller ue operator; do
  cn=$svc
  [[ $svc == ue ]] && cn=$ue_id
  sans="DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,DNS:$svc"
  for n in "$@"; do
    if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then sans="$sans,IP:$n"; else sans="$sans,DNS:$n"; fi
  done
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/$svc.key" 2>/dev/null
  ext=$(mktemp)
  cat >"$ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
EXT
  openssl req -new -key "$out/$svc.key" -subj "/O=splitinfer/OU=$svc/CN=$cn" -out "$out/$svc.csr"
  openssl x509 -req -in "$out/$svc.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$out/$svc.pem" 2>/dev/null
  rm -f "$ext" "$out/$svc.csr"
done
rm -f "$out/ca.srl"
chmod 644 "$out"/*.pem
echo "gen-certs.sh: CA and certificates for edge channel-sim controller ue operator in $out"
