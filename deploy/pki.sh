#!/usr/bin/env bash
# deploy/pki.sh - the lab's certificates for Diameter over TLS, made with the openssl CLI.
#
#   deploy/pki.sh DIR [NAME...]
#
# In DIR: a lab CA (ca.crt, ca.key), one certificate and key per NAME (NAME.crt, NAME.key)
# for the Diameter identity NAME.<realm>, and dh.pem (the RFC 7919 ffdhe2048 group, so that
# freeDiameter does not generate Diffie-Hellman parameters at every start). Without NAMEs:
# the eight functions of LAB.md, the IBCF and the test application server "as" (127.0.0.90).
#
# Idempotent: what exists and is still good (the certificate verifies against the CA, names
# its identity and is valid for at least one more day) is kept; the rest is made again. A
# new CA (none yet, or the old one about to expire) re-issues every certificate in DIR.
#
# Environment: IMS_PKI_REALM (default ims.mnc001.mcc001.3gppnetwork.org), IMS_PKI_CA_NAME
# (the CA's common name, default "ims-core lab CA"; a test makes a foreign CA with another).
#
# These are LAB credentials: the keys are files without a passphrase. Never use them
# outside a lab; never commit them (run/ and build/ are ignored by git).
#
# SPDX-License-Identifier: BSD-2-Clause
set -uo pipefail

REALM=${IMS_PKI_REALM:-ims.mnc001.mcc001.3gppnetwork.org}
CA_NAME=${IMS_PKI_CA_NAME:-ims-core lab CA}
DEFAULT_NAMES=(pcscf icscf scscf hss bgcf ibcf mrfc mgcf ocs as)

die() {
    echo "pki: $*" >&2
    exit 1
}

[ $# -ge 1 ] || { echo "usage: $0 DIR [NAME...]" >&2; exit 2; }
DIR=$1
shift
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=("${DEFAULT_NAMES[@]}")
command -v openssl >/dev/null || die "the openssl command is missing (Debian package openssl)"
mkdir -p "$DIR" || die "cannot create $DIR"
umask 077

fresh() {   # $1 certificate: exists and is valid for one more day
    [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
}

make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/O=ims-core lab/CN=$CA_NAME" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 ||
        die "cannot create the lab CA in $DIR"
    chmod 644 "$DIR/ca.crt"
    echo "pki: new lab CA $DIR/ca.crt ($CA_NAME)"
}

good_cert() {   # $1 name: its certificate verifies against the CA and names its identity
    local crt=$DIR/$1.crt
    fresh "$crt" && [ -s "$DIR/$1.key" ] &&
        openssl verify -CAfile "$DIR/ca.crt" "$crt" >/dev/null 2>&1 &&
        openssl x509 -in "$crt" -noout -checkhost "$1.$REALM" 2>/dev/null | grep -q 'does match'
}

make_cert() {   # $1 name
    local id=$1.$REALM csr=$DIR/$1.csr ext=$DIR/$1.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=ims-core lab/CN=$id" \
        -keyout "$DIR/$1.key" -out "$csr" >/dev/null 2>&1 || die "cannot create the key of $id"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyAgreement" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$id" >"$ext"
    openssl x509 -req -in "$csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$ext" -out "$DIR/$1.crt" >/dev/null 2>&1 ||
        die "cannot sign the certificate of $id"
    rm -f "$csr" "$ext"
    chmod 644 "$DIR/$1.crt"
}

if ! fresh "$DIR/ca.crt" || [ ! -s "$DIR/ca.key" ]; then
    make_ca
fi
made=()
for n in "${NAMES[@]}"; do
    [[ $n =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "'$n' is not a host name label"
    good_cert "$n" && continue
    make_cert "$n"
    made+=("$n")
done
if [ ! -s "$DIR/dh.pem" ]; then
    openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$DIR/dh.pem" \
        2>/dev/null || die "cannot write $DIR/dh.pem"
    chmod 644 "$DIR/dh.pem"
fi
if [ ${#made[@]} -gt 0 ]; then
    echo "pki: certificates for ${made[*]} (.$REALM) in $DIR"
fi
exit 0
