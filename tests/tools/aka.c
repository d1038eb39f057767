/*
 * aka - the UE side of IMS-AKA for tests (common/milenage.c)
 *
 *   aka check --k HEX (--op HEX | --opc HEX) --rand HEX --autn HEX
 *       verify AUTN as a USIM would; prints "sqn=... res=... ck=... ik=..." (exit 1 on a
 *       MAC failure)
 *   aka auts --k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX
 *       the AUTS a UE sends when the network's SQN is out of range, for its own SQN
 *   aka nonce --k ... --opc ... --nonce BASE64
 *       the same check on a SIP nonce (base64 of RAND | AUTN)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "milenage.h"

static void usage(void)
{
    fprintf(stderr, "usage: aka check|auts|nonce --k HEX (--op HEX|--opc HEX)\n"
                    "           [--rand HEX --autn HEX | --sqn HEX | --nonce BASE64]\n");
    exit(2);
}

static void hex_arg(const char *name, const char *v, uint8_t *out, size_t len)
{
    if (!v || ims_hex_decode(v, out, len) != 0) {
        fprintf(stderr, "aka: --%s needs %zu hex bytes\n", name, len);
        exit(2);
    }
}

static int check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                 const uint8_t autn[16])
{
    uint64_t sqn;
    uint8_t res[8], ck[16], ik[16];
    char h[3][33];
    if (ims_aka_ue_check(k, opc, rand, autn, &sqn, res, ck, ik) != 0) {
        fprintf(stderr, "aka: MAC-A does not match: the network is not authentic\n");
        return 1;
    }
    ims_hex_encode(res, 8, h[0]);
    ims_hex_encode(ck, 16, h[1]);
    ims_hex_encode(ik, 16, h[2]);
    printf("sqn=%012llx amf=%02x%02x res=%s ck=%s ik=%s\n", (unsigned long long)sqn, autn[6],
           autn[7], h[0], h[1], h[2]);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "k", required_argument, NULL, 'k' }, { "op", required_argument, NULL, 'o' },
        { "opc", required_argument, NULL, 'c' }, { "rand", required_argument, NULL, 'r' },
        { "autn", required_argument, NULL, 'a' }, { "sqn", required_argument, NULL, 's' },
        { "nonce", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 },
    };
    if (argc < 2)
        usage();
    const char *mode = argv[1], *k_s = NULL, *op_s = NULL, *opc_s = NULL, *rand_s = NULL;
    const char *autn_s = NULL, *sqn_s = NULL, *nonce_s = NULL;
    int o;
    optind = 2;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'k': k_s = optarg; break;
        case 'o': op_s = optarg; break;
        case 'c': opc_s = optarg; break;
        case 'r': rand_s = optarg; break;
        case 'a': autn_s = optarg; break;
        case 's': sqn_s = optarg; break;
        case 'n': nonce_s = optarg; break;
        default: usage();
        }
    }
    uint8_t k[16], op[16], opc[16], rand[16], autn[16];
    hex_arg("k", k_s, k, 16);
    if (opc_s) {
        hex_arg("opc", opc_s, opc, 16);
    } else {
        hex_arg("op", op_s, op, 16);
        if (ims_milenage_opc(k, op, opc) != 0)
            return 1;
    }
    if (strcmp(mode, "check") == 0) {
        hex_arg("rand", rand_s, rand, 16);
        hex_arg("autn", autn_s, autn, 16);
        return check(k, opc, rand, autn);
    }
    if (strcmp(mode, "nonce") == 0) {
        uint8_t buf[64];
        if (!nonce_s || ims_base64_decode(nonce_s, buf, sizeof(buf)) < 32) {
            fprintf(stderr, "aka: --nonce must be base64 of RAND (16) | AUTN (16)\n");
            return 2;
        }
        return check(k, opc, buf, buf + 16);
    }
    if (strcmp(mode, "auts") == 0) {
        uint8_t sqn_b[6], auts[14];
        char out[29];
        hex_arg("rand", rand_s, rand, 16);
        hex_arg("sqn", sqn_s, sqn_b, 6);
        if (ims_aka_auts_make(k, opc, rand, ims_sqn_from_bytes(sqn_b), auts) != 0)
            return 1;
        ims_hex_encode(auts, 14, out);
        printf("%s\n", out);
        return 0;
    }
    usage();
    return 2;
}
