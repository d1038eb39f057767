/*
 * ipsec.c - ESP security associations and policies of the P-CSCF over netlink XFRM
 *           (TS 33.203 7.1 and Annex H, RFC 3329 sec-agree), with Debian's libmnl
 *
 * The builders are pure: they write one netlink message (XFRM_MSG_NEWSA, DELSA, NEWPOLICY,
 * DELPOLICY) into a buffer, byte for byte what `ip xfrm` sends for the same SA (the unit
 * tests hold captures of it). The rest talks to the kernel: a NETLINK_XFRM socket, one
 * request at a time answered by the kernel's acknowledgement (a local system call, not a
 * network wait).
 *
 * Whether the kernel can carry ESP at all is probed at start (pcscf_ipsec_open): a throwaway
 * transport-mode SA between 127.0.0.1 and itself is added and deleted. A kernel built
 * without the ESP transform answers EPROTONOSUPPORT ("Requested type not found"), a process
 * without CAP_NET_ADMIN EPERM; either is said in the log and /health, and sec-agree is then
 * not offered (register.c).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>


struct pcscf_ipsec {
    struct mnl_socket *nl;
    uint32_t seq;
    uint32_t portid;
    char state[128];             /* "available", or "unavailable (<why>)" */
    bool available;
};

/* ---- pure builders ---- */

static const char *auth_name(enum pcscf_ipsec_auth a)
{
    return a == PCSCF_IPSEC_HMAC_MD5_96 ? "hmac(md5)" : "hmac(sha1)";
}

static const char *enc_name(enum pcscf_ipsec_enc e)
{
    return e == PCSCF_IPSEC_AES_CBC ? "cbc(aes)" : "ecb(cipher_null)";
}

int pcscf_ipsec_keys(struct pcscf_xfrm_sa *sa, const uint8_t ck[16], const uint8_t ik[16])
{
    /* TS 33.203 Annex I: IK_ESP is IK_IM, with 32 zero bits appended for HMAC-SHA-1-96;
     * CK_ESP is CK_IM for AES-CBC (128-bit key); no key for NULL encryption */
    memset(sa->ik, 0, sizeof(sa->ik));
    memcpy(sa->ik, ik, 16);
    sa->ik_len = sa->auth == PCSCF_IPSEC_HMAC_SHA1_96 ? 20 : 16;
    memset(sa->ck, 0, sizeof(sa->ck));
    sa->ck_len = 0;
    if (sa->enc == PCSCF_IPSEC_AES_CBC) {
        memcpy(sa->ck, ck, 16);
        sa->ck_len = 16;
    }
    return 0;
}

static size_t addr_len(const struct pcscf_xfrm_sa *sa)
{
    return sa->family == AF_INET6 ? 16 : 4;
}

/* The selector of @sa: exactly its two addresses and ports, any transport (UDP and TCP) */
static void selector(const struct pcscf_xfrm_sa *sa, struct xfrm_selector *sel)
{
    memset(sel, 0, sizeof(*sel));
    memcpy(&sel->daddr, sa->dst, addr_len(sa));
    memcpy(&sel->saddr, sa->src, addr_len(sa));
    sel->dport = htons(sa->dport);
    sel->dport_mask = 0xffff;
    sel->sport = htons(sa->sport);
    sel->sport_mask = 0xffff;
    sel->family = (uint16_t)sa->family;
    sel->prefixlen_d = sel->prefixlen_s = (uint8_t)(addr_len(sa) * 8);
}

static struct nlmsghdr *header(void *buf, uint16_t type, uint32_t seq)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    return nlh;
}

static bool valid(const struct pcscf_xfrm_sa *sa)
{
    return (sa->family == AF_INET || sa->family == AF_INET6) && sa->spi >= 256 &&
           sa->ik_len <= sizeof(sa->ik) && sa->ck_len <= sizeof(sa->ck);
}

/* Room for every message built here */
#define MSG_MAX 1024

size_t pcscf_xfrm_newsa(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, uint32_t seq)
{
    if (len < MSG_MAX || !valid(sa))
        return 0;
    memset(buf, 0, MSG_MAX);
    struct nlmsghdr *nlh = header(buf, XFRM_MSG_NEWSA, seq);
    struct xfrm_usersa_info *info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));
    selector(sa, &info->sel);
    memcpy(&info->id.daddr, sa->dst, addr_len(sa));
    info->id.spi = htonl(sa->spi);
    info->id.proto = IPPROTO_ESP;
    memcpy(&info->saddr, sa->src, addr_len(sa));
    info->lft.soft_byte_limit = info->lft.hard_byte_limit = XFRM_INF;
    info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;
    info->lft.hard_add_expires_seconds = sa->expires;
    info->reqid = sa->reqid;
    info->family = (uint16_t)sa->family;
    info->mode = XFRM_MODE_TRANSPORT;

    char auth[sizeof(struct xfrm_algo_auth) + 20];
    struct xfrm_algo_auth *aa = (struct xfrm_algo_auth *)auth;
    memset(auth, 0, sizeof(auth));
    snprintf(aa->alg_name, sizeof(aa->alg_name), "%s", auth_name(sa->auth));
    aa->alg_key_len = (unsigned)sa->ik_len * 8;
    aa->alg_trunc_len = 96;
    memcpy(aa->alg_key, sa->ik, sa->ik_len);
    mnl_attr_put(nlh, XFRMA_ALG_AUTH_TRUNC, sizeof(*aa) + sa->ik_len, aa);

    char crypt[sizeof(struct xfrm_algo) + 16];
    struct xfrm_algo *ca = (struct xfrm_algo *)crypt;
    memset(crypt, 0, sizeof(crypt));
    snprintf(ca->alg_name, sizeof(ca->alg_name), "%s", enc_name(sa->enc));
    ca->alg_key_len = (unsigned)sa->ck_len * 8;
    memcpy(ca->alg_key, sa->ck, sa->ck_len);
    mnl_attr_put(nlh, XFRMA_ALG_CRYPT, sizeof(*ca) + sa->ck_len, ca);
    return nlh->nlmsg_len;
}

size_t pcscf_xfrm_delsa(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, uint32_t seq)
{
    if (len < MSG_MAX || !valid(sa))
        return 0;
    memset(buf, 0, MSG_MAX);
    struct nlmsghdr *nlh = header(buf, XFRM_MSG_DELSA, seq);
    struct xfrm_usersa_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
    memcpy(&id->daddr, sa->dst, addr_len(sa));
    id->spi = htonl(sa->spi);
    id->family = (uint16_t)sa->family;
    id->proto = IPPROTO_ESP;
    xfrm_address_t src;
    memset(&src, 0, sizeof(src));
    memcpy(&src, sa->src, addr_len(sa));
    mnl_attr_put(nlh, XFRMA_SRCADDR, sizeof(src), &src);
    return nlh->nlmsg_len;
}

size_t pcscf_xfrm_newpolicy(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, bool in,
                            uint32_t seq)
{
    if (len < MSG_MAX || !valid(sa))
        return 0;
    memset(buf, 0, MSG_MAX);
    struct nlmsghdr *nlh = header(buf, XFRM_MSG_NEWPOLICY, seq);
    struct xfrm_userpolicy_info *pol = mnl_nlmsg_put_extra_header(nlh, sizeof(*pol));
    selector(sa, &pol->sel);
    pol->lft.soft_byte_limit = pol->lft.hard_byte_limit = XFRM_INF;
    pol->lft.soft_packet_limit = pol->lft.hard_packet_limit = XFRM_INF;
    pol->dir = in ? XFRM_POLICY_IN : XFRM_POLICY_OUT;
    pol->action = XFRM_POLICY_ALLOW;
    struct xfrm_user_tmpl t;
    memset(&t, 0, sizeof(t));
    memcpy(&t.id.daddr, sa->dst, addr_len(sa));
    t.id.proto = IPPROTO_ESP;
    t.family = (uint16_t)sa->family;
    memcpy(&t.saddr, sa->src, addr_len(sa));
    t.reqid = sa->reqid;
    t.mode = XFRM_MODE_TRANSPORT;
    t.aalgos = t.ealgos = t.calgos = ~0u;
    mnl_attr_put(nlh, XFRMA_TMPL, sizeof(t), &t);
    return nlh->nlmsg_len;
}

size_t pcscf_xfrm_delpolicy(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, bool in,
                            uint32_t seq)
{
    if (len < MSG_MAX || !valid(sa))
        return 0;
    memset(buf, 0, MSG_MAX);
    struct nlmsghdr *nlh = header(buf, XFRM_MSG_DELPOLICY, seq);
    struct xfrm_userpolicy_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
    selector(sa, &id->sel);
    id->dir = in ? XFRM_POLICY_IN : XFRM_POLICY_OUT;
    return nlh->nlmsg_len;
}

/* ---- the kernel ---- */

/* Send one request and read its acknowledgement: 0 or the kernel's -errno */
static int request(struct pcscf_ipsec *x, void *buf, size_t n)
{
    if (!n)
        return -EINVAL;
    uint32_t seq = ((struct nlmsghdr *)buf)->nlmsg_seq;
    if (mnl_socket_sendto(x->nl, buf, n) < 0)
        return -errno;
    char ack[MNL_SOCKET_BUFFER_SIZE];
    ssize_t got = mnl_socket_recvfrom(x->nl, ack, sizeof(ack));
    if (got < 0)
        return -errno;
    int rc = mnl_cb_run(ack, (size_t)got, seq, x->portid, NULL, NULL);
    return rc < 0 ? -errno : 0;
}

int pcscf_ipsec_sa_add(struct pcscf_ipsec *x, const struct pcscf_xfrm_sa *sa, bool in)
{
    char buf[MSG_MAX];
    if (!x || !x->available)
        return -EPROTONOSUPPORT;
    int rc = request(x, buf, pcscf_xfrm_newsa(buf, sizeof(buf), sa, ++x->seq));
    if (rc == 0) {
        rc = request(x, buf, pcscf_xfrm_newpolicy(buf, sizeof(buf), sa, in, ++x->seq));
        if (rc != 0)
            request(x, buf, pcscf_xfrm_delsa(buf, sizeof(buf), sa, ++x->seq));
    }
    return rc;
}

int pcscf_ipsec_sa_remove(struct pcscf_ipsec *x, const struct pcscf_xfrm_sa *sa, bool in)
{
    char buf[MSG_MAX];
    if (!x || !x->available)
        return -EPROTONOSUPPORT;
    int rp = request(x, buf, pcscf_xfrm_delpolicy(buf, sizeof(buf), sa, in, ++x->seq));
    int rs = request(x, buf, pcscf_xfrm_delsa(buf, sizeof(buf), sa, ++x->seq));
    return rp ? rp : rs;
}

/* Add and delete a throwaway ESP SA on the loopback: 0 when the kernel carries ESP */
static int probe(struct pcscf_ipsec *x)
{
    struct pcscf_xfrm_sa sa = { .family = AF_INET, .auth = PCSCF_IPSEC_HMAC_SHA1_96,
                                .enc = PCSCF_IPSEC_ENC_NULL,
                                .spi = 0x7f000000u | ((uint32_t)getpid() & 0xffffff),
                                .ik_len = 20 };
    inet_pton(AF_INET, "127.0.0.1", sa.src);
    inet_pton(AF_INET, "127.0.0.1", sa.dst);
    char buf[MSG_MAX];
    int rc = request(x, buf, pcscf_xfrm_newsa(buf, sizeof(buf), &sa, ++x->seq));
    if (rc == 0 || rc == -EEXIST) {
        request(x, buf, pcscf_xfrm_delsa(buf, sizeof(buf), &sa, ++x->seq));
        return 0;
    }
    return rc;
}

int pcscf_ipsec_open(struct pcscf_ipsec **out)
{
    struct pcscf_ipsec *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->seq = (uint32_t)time(NULL);
    x->nl = mnl_socket_open(NETLINK_XFRM);
    int rc = x->nl ? 0 : -errno;
    if (rc == 0 && mnl_socket_bind(x->nl, 0, MNL_SOCKET_AUTOPID) < 0)
        rc = -errno;
    if (rc == 0) {
        x->portid = mnl_socket_get_portid(x->nl);
        rc = probe(x);
    }
    x->available = rc == 0;
    if (rc == 0)
        snprintf(x->state, sizeof(x->state), "available");
    else if (rc == -EPROTONOSUPPORT || rc == -ENOENT)
        snprintf(x->state, sizeof(x->state), "unavailable (no ESP in this kernel)");
    else if (rc == -EPERM || rc == -EACCES)
        snprintf(x->state, sizeof(x->state),
                 "unavailable (no permission to manage IPsec: CAP_NET_ADMIN)");
    else
        snprintf(x->state, sizeof(x->state), "unavailable (netlink XFRM: %s)", strerror(-rc));
    *out = x;
    return rc;
}

void pcscf_ipsec_close(struct pcscf_ipsec *x)
{
    if (!x)
        return;
    if (x->nl)
        mnl_socket_close(x->nl);
    free(x);
}

bool pcscf_ipsec_available(const struct pcscf_ipsec *x)
{
    return x && x->available;
}

const char *pcscf_ipsec_state(const struct pcscf_ipsec *x)
{
    return x ? x->state : "off";
}

const char *pcscf_ipsec_secagree_reason(const struct pcscf *p)
{
    if (p->ipsec_mode == PCSCF_IPSEC_OFF || !p->ipsec)
        return "pcscf.ipsec is off";
    if (!p->ipsec->available)
        return p->ipsec->state;
    if (!p->sas)
        return "the IPsec SA store is not set up";
    return "available";
}
