#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Make a throw-away PKI for the TLS tests (tests/unit/test_tls.c), with the openssl CLI:
#   ca.crt        the sealbench CA the broker and the stations trust
#   broker.crt    the broker, subjectAltName IP:127.0.0.1 only (so "localhost" must fail)
#   central.crt   CN "central"
#   st01.crt      CN "wh1/st01" (site wh1, station st01), signed by ca
#   st02.crt      CN "wh1/st02"
#   other-ca.crt  a second CA nobody trusts
#   rogue.crt     CN "wh1/st01" again, but signed by other-ca
# Keys are EC P-256 (fast), mode 0600, valid 2 days.
#
# Usage: tests/tls/mkcerts.sh DIR
set -eu
dir=$1
cd "$dir"

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
	chmod 600 "$1.key"
}

ca() {
	key "$1"
	openssl req -new -x509 -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# leaf NAME CN CA EXTENDED_KEY_USAGE [SUBJECT_ALT_NAME]
leaf() {
	key "$1"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$4"
		[ -z "${5:-}" ] || echo "subjectAltName=$5"
	} >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca ca "sealbench test CA"
ca other-ca "some other CA"
leaf broker "sealbench test broker" ca serverAuth "IP:127.0.0.1"
leaf central central ca clientAuth
leaf st01 'wh1\/st01' ca clientAuth
leaf st02 'wh1\/st02' ca clientAuth
leaf rogue 'wh1\/st01' other-ca clientAuth
