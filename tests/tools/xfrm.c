/*
 * xfrm - install or remove one ESP SA and its policy with the P-CSCF's own code
 *        (pcscf/ipsec.c), for tests/e2e/test_gm_esp.sh
 *
 *   xfrm probe
 *       prints the P-CSCF's verdict on this kernel ("available" or "unavailable (...)");
 *       exit status 0 when ESP is available, 3 when not
 *   xfrm add|del SRC:PORT DST:PORT SPI in|out sha1|md5 aes|null IK-HEX CK-HEX
 *       the SA from SRC:PORT to DST:PORT with SPI (hex or decimal), the policy of an
 *       inbound (in) or outbound (out) SA; IK and CK are the 16 bytes of the AKA keys, from
 *       which IK_ESP and CK_ESP are made as the P-CSCF makes them. Exit status 0, or 1 with
 *       the kernel's error
 *
 * IPv4 only (the lab's addresses).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milenage.h"
#include "pcscf.h"

static int endpoint(const char *text, uint8_t *addr, uint16_t *port)
{
    char ip[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof(ip))
        return -1;
    memcpy(ip, text, (size_t)(colon - text));
    ip[colon - text] = '\0';
    *port = (uint16_t)atoi(colon + 1);
    return inet_pton(AF_INET, ip, addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct pcscf_ipsec *x = NULL;
    if (argc == 2 && strcmp(argv[1], "probe") == 0) {
        int rc = pcscf_ipsec_open(&x);
        printf("%s\n", pcscf_ipsec_state(x));
        pcscf_ipsec_close(x);
        return rc == 0 ? 0 : 3;
    }
    struct pcscf_xfrm_sa sa = { .family = AF_INET };
    uint8_t ik[16], ck[16];
    if (argc != 10 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")) ||
        endpoint(argv[2], sa.src, &sa.sport) || endpoint(argv[3], sa.dst, &sa.dport) ||
        ims_hex_decode(argv[8], ik, 16) || ims_hex_decode(argv[9], ck, 16)) {
        fprintf(stderr, "usage: xfrm probe | xfrm add|del SRC:PORT DST:PORT SPI in|out "
                        "sha1|md5 aes|null IK-HEX CK-HEX\n");
        return 2;
    }
    sa.spi = (uint32_t)strtoul(argv[4], NULL, 0);
    bool in = strcmp(argv[5], "in") == 0;
    sa.auth = strcmp(argv[6], "md5") == 0 ? PCSCF_IPSEC_HMAC_MD5_96 : PCSCF_IPSEC_HMAC_SHA1_96;
    sa.enc = strcmp(argv[7], "aes") == 0 ? PCSCF_IPSEC_AES_CBC : PCSCF_IPSEC_ENC_NULL;
    pcscf_ipsec_keys(&sa, ck, ik);
    if (pcscf_ipsec_open(&x) != 0) {
        fprintf(stderr, "xfrm: %s\n", pcscf_ipsec_state(x));
        pcscf_ipsec_close(x);
        return 1;
    }
    int rc = strcmp(argv[1], "add") == 0 ? pcscf_ipsec_sa_add(x, &sa, in)
                                         : pcscf_ipsec_sa_remove(x, &sa, in);
    if (rc)
        fprintf(stderr, "xfrm: %s %s -> %s spi 0x%x: %s\n", argv[1], argv[2], argv[3],
                (unsigned)sa.spi, strerror(-rc));
    pcscf_ipsec_close(x);
    return rc ? 1 : 0;
}
