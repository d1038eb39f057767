/*
 * check_overload.c - the load monitor and RFC 7339 loss control (common/overload.c), with
 * the clock as a parameter
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "overload.h"

#define MS 1000ULL
#define S 1000000ULL

static struct ims_load_conf conf(double max_rate)
{
    struct ims_load_conf c;
    ims_load_conf_default(&c);
    c.max_rate = max_rate;
    return c;
}

/*
 * Offer @rate requests/s of class @k evenly for @secs from *@now, each message read
 * @delay_us after it arrived. Returns how many were admitted; *@now moves on.
 */
static unsigned offer(struct ims_load *l, enum ims_load_class k, double rate, double secs,
                      uint64_t delay_us, uint64_t *now)
{
    unsigned n = (unsigned)(rate * secs), admitted = 0;
    uint64_t step = (uint64_t)(1e6 / rate);
    for (unsigned i = 0; i < n; i++) {
        ims_load_delays(l, delay_us, 1, *now);
        if (ims_load_admit(l, k, *now))
            admitted++;
        *now += step;
    }
    return admitted;
}

START_TEST(unlimited_while_the_delay_is_low)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 10 * S;
    ims_load_init(&l, &c, now);
    ck_assert_uint_eq(offer(&l, IMS_LOAD_NORMAL, 5000, 2, 1 * MS, &now), 10000);
    ck_assert(!l.limited);
    ck_assert(!ims_load_shedding(&l, now, 2 * S));
}
END_TEST

START_TEST(a_long_delay_limits_to_what_was_admitted)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* 1,000/s handled, but every message waited 80 ms: four times the 20 ms target */
    offer(&l, IMS_LOAD_NORMAL, 1000, 0.4, 80 * MS, &now);
    ck_assert(l.limited);
    /* at most halved per period, from the admitted rate */
    ck_assert(l.rate >= 450 && l.rate <= 910);
    double first = l.rate;
    offer(&l, IMS_LOAD_NORMAL, 1000, 0.4, 80 * MS, &now);
    ck_assert(l.rate < first);
    /* the delay stays high: the rate keeps falling, down to the floor */
    offer(&l, IMS_LOAD_NORMAL, 1000, 5, 80 * MS, &now);
    ck_assert(l.rate <= c.min_rate + 0.001);
    ck_assert(ims_load_shedding(&l, now, 2 * S));
    /* calm again, the clients sending less (they were asked to): the rate keeps room for
     * twice what comes, so work that comes back is not refused by a stale low rate */
    offer(&l, IMS_LOAD_NORMAL, 15, 1.5, 1 * MS, &now);
    ck_assert(l.rate >= 29);
    ck_assert_uint_eq(offer(&l, IMS_LOAD_NORMAL, 25, 2, 1 * MS, &now), 50);
    ck_assert(l.rate >= 49);
}
END_TEST

START_TEST(a_burst_keeps_half_of_what_was_taken_calmly)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* 300/s taken with 2 ms of delay, then four times that, every message waiting 100 ms
     * (five times the target) for a second */
    ck_assert_uint_eq(offer(&l, IMS_LOAD_NORMAL, 300, 3, 2 * MS, &now), 900);
    offer(&l, IMS_LOAD_NORMAL, 1200, 1, 100 * MS, &now);
    ck_assert(l.limited);
    ck_assert(l.rate >= 150 && l.rate < 1200);
    /* the delay stays that long with the offer down to 250/s, most of it admitted: once 5 s
     * have been spent over the target, the rate falls further */
    offer(&l, IMS_LOAD_NORMAL, 250, 6, 100 * MS, &now);
    ck_assert_msg(l.rate < 100, "rate %.0f", l.rate);
}
END_TEST

START_TEST(refusing_most_of_a_flood_keeps_the_floor)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* 300/s taken calmly, then ten times that for 10 s, every message waiting 100 ms: the
     * delay is the refusals' as much as the admitted work's; the cut keeps half the 300/s */
    offer(&l, IMS_LOAD_NORMAL, 300, 3, 2 * MS, &now);
    offer(&l, IMS_LOAD_NORMAL, 3000, 10, 100 * MS, &now);
    ck_assert(l.limited);
    ck_assert_msg(l.rate >= 150, "rate %.0f", l.rate);
}
END_TEST

START_TEST(an_idle_pause_does_not_forget_what_was_taken_calmly)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* 400/s taken calmly, then 10 s of near silence (a request a second) */
    offer(&l, IMS_LOAD_NORMAL, 400, 3, 2 * MS, &now);
    offer(&l, IMS_LOAD_NORMAL, 1, 10, 1 * MS, &now);
    /* a burst, every message waiting 100 ms, and a period that admitted little (its loop
     * busy with the burst's queue): the cut keeps half of the 400/s */
    offer(&l, IMS_LOAD_NORMAL, 1200, 0.4, 100 * MS, &now);
    for (int i = 0; i < 2; i++) {
        ims_load_delays(&l, 200 * 100 * MS, 200, now);   /* the queue's other messages */
        offer(&l, IMS_LOAD_NORMAL, 60, 0.2, 100 * MS, &now);
    }
    ims_load_tick(&l, now + 200 * MS);
    ck_assert(l.limited);
    ck_assert_msg(l.rate >= 200, "rate %.0f after the pause", l.rate);
}
END_TEST

START_TEST(few_samples_do_not_lower_the_rate)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* 10 requests a second, each after a 300 ms pause of the loop: a quiet node */
    ck_assert_uint_eq(offer(&l, IMS_LOAD_NORMAL, 10, 3, 300 * MS, &now), 30);
    ck_assert(!l.limited);
}
END_TEST

START_TEST(the_rate_follows_the_admitted_load)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    offer(&l, IMS_LOAD_NORMAL, 2000, 0.6, 100 * MS, &now);
    ims_load_tick(&l, now);
    ck_assert(l.limited);
    double low = l.rate;
    /* the delay falls back: the bucket now refuses work, so the rate climbs */
    offer(&l, IMS_LOAD_NORMAL, 2000, 1.5, 1 * MS, &now);
    ck_assert(l.rate > low * 1.5);
    /* and over a few seconds it reaches the load offered: nothing refused any more */
    offer(&l, IMS_LOAD_NORMAL, 2000, 6, 1 * MS, &now);
    ck_assert_uint_ge(offer(&l, IMS_LOAD_NORMAL, 2000, 1, 1 * MS, &now), 1990);
}
END_TEST

START_TEST(demand_held_back_by_clients_raises_the_rate)
{
    struct ims_load l;
    struct ims_load_conf c = conf(0);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    offer(&l, IMS_LOAD_PRIORITY, 1000, 0.6, 100 * MS, &now);
    ims_load_tick(&l, now);
    double low = l.rate;
    /* the clients now send 50/s and hold back 150/s at our request: nothing is refused,
     * the delay is low, and yet the rate is tried higher */
    for (int i = 0; i < 20; i++) {
        ims_load_held_back(&l, 30, now);
        offer(&l, IMS_LOAD_PRIORITY, 50, 0.2, 1 * MS, &now);
    }
    ck_assert(l.rate > low * 2);
}
END_TEST

START_TEST(a_fixed_ceiling_applies_from_the_start)
{
    struct ims_load l;
    struct ims_load_conf c = conf(10);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    ck_assert(l.limited);
    /* 100/s for 2 s against 10/s: the bucket's depth (5) then 10 a second */
    unsigned n = offer(&l, IMS_LOAD_NORMAL, 100, 2, 100, &now);
    ck_assert_uint_ge(n, 23);
    ck_assert_uint_le(n, 27);
    /* refusals with a low delay never raise the rate past the ceiling */
    ck_assert(l.rate <= 10.0 + 1e-9);
}
END_TEST

START_TEST(priority_work_is_refused_last)
{
    struct ims_load l;
    struct ims_load_conf c = conf(100);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* take the bucket empty */
    while (ims_load_admit(&l, IMS_LOAD_NORMAL, now))
        ;
    ck_assert(!ims_load_admit(&l, IMS_LOAD_NORMAL, now));
    /* priority work overdraws by one bucket depth */
    unsigned prio = 0;
    while (ims_load_admit(&l, IMS_LOAD_PRIORITY, now))
        prio++;
    ck_assert_uint_eq(prio, (unsigned)l.depth);
    /* both refused now; the debt is paid back before normal work passes again */
    ck_assert(!ims_load_admit(&l, IMS_LOAD_PRIORITY, now));
    now += 100 * MS;   /* 10 tokens back: still in debt */
    ck_assert(!ims_load_admit(&l, IMS_LOAD_NORMAL, now));
    ck_assert(ims_load_admit(&l, IMS_LOAD_PRIORITY, now));
}
END_TEST

START_TEST(mixed_classes_under_overload)
{
    struct ims_load l;
    struct ims_load_conf c = conf(200);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    /* 400/s normal and 100/s priority interleaved against 200/s: priority all passes */
    unsigned normal = 0, prio = 0;
    for (int i = 0; i < 2000; i++) {
        if (ims_load_admit(&l, IMS_LOAD_NORMAL, now))
            normal++;
        now += 1250;
        if (i % 4 == 0 && ims_load_admit(&l, IMS_LOAD_PRIORITY, now))
            prio++;
        now += 1250;
    }
    ck_assert_uint_eq(prio, 500);
    ck_assert(normal > 400 && normal < 560);
}
END_TEST

START_TEST(penalties_lower_the_rate)
{
    struct ims_load l;
    struct ims_load_conf c = conf(1000);
    uint64_t now = 0;
    ims_load_init(&l, &c, now);
    offer(&l, IMS_LOAD_NORMAL, 800, 0.3, 1 * MS, &now);
    ck_assert(l.rate == 1000);
    /* the HSS answers a third of the requests of a period TOO_BUSY */
    for (int i = 0; i < 50; i++)
        ims_load_penalty(&l, now);
    offer(&l, IMS_LOAD_NORMAL, 800, 0.3, 1 * MS, &now);
    ck_assert(l.rate < 800 * 0.9 + 1);
}
END_TEST

/* One period of @n requests from each of @p and @q (half of p's refused when @refuse_p) */
static void period(struct ims_oc_server *srv, struct ims_oc_served *p, struct ims_oc_served *q,
                   unsigned n, bool refuse_p)
{
    for (unsigned i = 0; i < n; i++) {
        ims_oc_server_offered(srv, p, IMS_LOAD_PRIORITY, refuse_p && i % 2);
        ims_oc_server_offered(srv, q, IMS_LOAD_PRIORITY, false);
    }
}

START_TEST(loss_asked_is_the_demand_past_the_rate)
{
    struct ims_oc_server srv;
    uint64_t now = 0;
    ims_oc_server_init(&srv, 200, 1000, now);
    struct ims_oc_served *p = ims_oc_server_find(&srv, "127.0.0.10:5060/udp", true, now);
    struct ims_oc_served *q = ims_oc_server_find(&srv, "127.0.0.30:5060/udp", true, now);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(ims_oc_server_find(&srv, "127.0.0.10:5060/udp", false, now), p);
    ck_assert_ptr_null(ims_oc_server_find(&srv, "127.0.0.99:5060/udp", false, now));
    /* 1,000 new requests/s against a rate of 500/s; half of p's refused so far */
    period(&srv, p, q, 100, true);
    unsigned pct;
    bool changed;
    /* p is asked at once for what it sees refused, before the period ends; q is not */
    ck_assert(ims_oc_server_advertise(&srv, p, now, &pct, &changed));
    ck_assert_uint_eq(pct, 50);
    ck_assert(changed);
    ck_assert(!ims_oc_server_advertise(&srv, q, now, &pct, &changed));
    /* then both move towards 50 %: the share of the demand the rate cannot take */
    ims_oc_server_tick(&srv, 500, false, now += 200 * MS);
    ck_assert(ims_oc_server_advertise(&srv, q, now, &pct, &changed));
    ck_assert_uint_eq(pct, 25);
    for (int i = 0; i < 8; i++) {
        /* the clients send what they are asked: the demand stays 1,000/s */
        unsigned n = (unsigned)(100 * (1.0 - ims_oc_server_loss(q)) + 0.5);
        period(&srv, p, q, n, false);
        ims_oc_server_tick(&srv, 500, false, now += 200 * MS);
    }
    ck_assert(ims_oc_server_advertise(&srv, q, now, &pct, &changed));
    ck_assert_uint_ge(pct, 48);
    ck_assert_uint_le(pct, 52);
    /* the rate no longer limits: the loss goes to 0 (responses still go to q) */
    for (int i = 0; i < 12 && ims_oc_server_loss(q) > 0; i++) {
        period(&srv, p, q, 50, false);
        ims_oc_server_tick(&srv, 0, true, now += 200 * MS);
        ck_assert(ims_oc_server_advertise(&srv, q, now, &pct, &changed));
    }
    ck_assert(ims_oc_server_loss(q) == 0);
    ck_assert_uint_eq(pct, 0);                                          /* oc=0 ... */
    /* ... for one validity period after the last reduction, then nothing */
    ck_assert(!ims_oc_server_advertise(&srv, q, now + 1001 * MS, &pct, &changed));
}
END_TEST

START_TEST(loss_passes_on_the_next_hops_without_compounding)
{
    struct ims_oc_server srv;
    uint64_t now = 0;
    ims_oc_server_init(&srv, 200, 1000, now);
    struct ims_oc_served *p = ims_oc_server_find(&srv, "p", true, now);
    /* the next hop asks this proxy for 40 % of p's requests: p is asked for 40 %, however
     * long it lasts (not 1 - 0.6^n: the proxy's own drops do not feed it) */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 100; i++) {
            ims_oc_server_offered(&srv, p, IMS_LOAD_PRIORITY, false);
            ims_oc_server_forwarded(p, 0.4);
        }
        ims_oc_server_tick(&srv, 0, false, now += 200 * MS);
    }
    unsigned pct;
    bool changed;
    ck_assert(ims_oc_server_advertise(&srv, p, now, &pct, &changed));
    ck_assert_uint_ge(pct, 39);
    ck_assert_uint_le(pct, 41);
    /* with the bucket short too (half the demand), both: 1 - 0.6 x 0.5 = 70 % */
    for (int round = 0; round < 20; round++) {
        unsigned n = (unsigned)(100 * (1.0 - ims_oc_server_loss(p)) + 0.5);
        for (unsigned i = 0; i < n; i++) {
            ims_oc_server_offered(&srv, p, IMS_LOAD_PRIORITY, false);
            ims_oc_server_forwarded(p, 0.4);
        }
        ims_oc_server_tick(&srv, 250, false, now += 200 * MS);
    }
    ck_assert(ims_oc_server_advertise(&srv, p, now, &pct, &changed));
    ck_assert_uint_ge(pct, 68);
    ck_assert_uint_le(pct, 72);
    /* the next hop stops asking: that part goes, even while the node is busy */
    for (int round = 0; round < 12; round++) {
        for (int i = 0; i < 30; i++) {
            ims_oc_server_offered(&srv, p, IMS_LOAD_PRIORITY, false);
            ims_oc_server_forwarded(p, 0);
        }
        ims_oc_server_tick(&srv, 0, false, now += 200 * MS);
    }
    ck_assert(ims_oc_server_loss(p) == 0);
}
END_TEST

START_TEST(client_drops_only_what_upstream_did_not)
{
    static struct ims_oc_client c;
    uint64_t now = 5 * S;
    struct ims_oc_via v = { .oc = true, .has_value = true, .value = 40, .loss = true,
                            .has_validity = true, .validity_ms = 10000 };
    ck_assert(ims_oc_client_update(&c, "s:5060", &v, now));
    /* its client dropped 40 % already: nothing more here */
    unsigned dropped = 0;
    for (int i = 0; i < 100; i++)
        dropped += ims_oc_client_drop(&c, "s:5060", 0.4, now);
    ck_assert_uint_eq(dropped, 0);
    /* it dropped 20 %: 1 - 0.6 / 0.8 = 25 % of what still comes */
    for (int i = 0; i < 100; i++)
        dropped += ims_oc_client_drop(&c, "s:5060", 0.2, now);
    ck_assert_uint_eq(dropped, 25);
}
END_TEST

START_TEST(priority_clients_are_asked_last)
{
    struct ims_oc_server srv;
    uint64_t now = 0;
    ims_oc_server_init(&srv, 200, 1000, now);
    struct ims_oc_served *core = ims_oc_server_find(&srv, "s-cscf", true, now);
    struct ims_oc_served *ue = ims_oc_server_find(&srv, "ue", true, now);
    /* 500/s of rate; 100/s of priority work (the core), 1,000/s of normal work: the core is
     * asked nothing, the normal work for what the priority work leaves (400 of 1,000) */
    for (int round = 0; round < 12; round++) {
        for (int i = 0; i < 20; i++)
            ims_oc_server_offered(&srv, core, IMS_LOAD_PRIORITY, false);
        unsigned n = (unsigned)(100 * (1.0 - ims_oc_server_loss(ue)) + 0.5);
        for (unsigned i = 0; i < n; i++)
            ims_oc_server_offered(&srv, ue, IMS_LOAD_NORMAL, false);
        for (int i = 0; i < 100; i++)
            ims_oc_server_offered(&srv, NULL, IMS_LOAD_NORMAL, false);
        ims_oc_server_tick(&srv, 500, false, now += 200 * MS);
    }
    ck_assert(ims_oc_server_loss(core) == 0);
    unsigned pct = (unsigned)(ims_oc_server_loss(ue) * 100 + 0.5);
    ck_assert_uint_ge(pct, 58);
    ck_assert_uint_le(pct, 62);
}
END_TEST

START_TEST(server_table_reuses_the_least_recently_used)
{
    struct ims_oc_server srv;
    ims_oc_server_init(&srv, 200, 1000, 0);
    char key[32];
    for (int i = 0; i < IMS_OC_SERVED; i++) {
        snprintf(key, sizeof(key), "c%d", i);
        ck_assert_ptr_nonnull(ims_oc_server_find(&srv, key, true, (uint64_t)i + 1));
    }
    ims_oc_server_find(&srv, "c0", false, 100);   /* used again: not the oldest now */
    ck_assert_ptr_nonnull(ims_oc_server_find(&srv, "new", true, 101));
    ck_assert_ptr_nonnull(ims_oc_server_find(&srv, "c0", false, 102));
    ck_assert_ptr_null(ims_oc_server_find(&srv, "c1", false, 103));
}
END_TEST

/* ---- Via parameters ---- */

START_TEST(via_parse_client_offer)
{
    const char *p[] = { "branch=z9hG4bK1", "rport", "oc", "oc-algo=\"loss,A\"", NULL };
    struct ims_oc_via v;
    ck_assert(ims_oc_via_parse(p, &v));
    ck_assert(v.oc && !v.has_value && v.loss && v.has_algo);
}
END_TEST

START_TEST(via_parse_server_answer)
{
    const char *p[] = { "branch=z9hG4bK1", "received=127.0.0.10", "oc=20",
                        "oc-algo=\"loss\"", "oc-validity=500", "oc-seq=1282321615.781", NULL };
    struct ims_oc_via v;
    ck_assert(ims_oc_via_parse(p, &v));
    ck_assert(v.has_value);
    ck_assert_uint_eq(v.value, 20);
    ck_assert(v.loss);
    ck_assert(v.has_validity);
    ck_assert_uint_eq(v.validity_ms, 500);
    ck_assert(v.has_seq);
    ck_assert_uint_eq(v.seq_int, 1282321615);
    ck_assert_uint_eq(v.seq_frac, 78100);
    char buf[32];
    ck_assert_str_eq(ims_oc_seq_format(v.seq_int, v.seq_frac, buf, sizeof(buf)),
                     "1282321615.78100");
}
END_TEST

START_TEST(via_parse_rejects_bad_values)
{
    const char *p[] = { "OC=101", "oc-algo=\"rate\"", "oc-validity=-1", "oc-seq=12", NULL };
    struct ims_oc_via v;
    ck_assert(ims_oc_via_parse(p, &v));    /* named, case-insensitively */
    ck_assert(!v.has_value);               /* 0..100 only */
    ck_assert(!v.loss);                    /* not an algorithm we speak */
    ck_assert(!v.has_validity);
    ck_assert(!v.has_seq);                 /* needs a fraction */
    const char *none[] = { "ocx=1", "branch=z9hG4bKoc", NULL };
    ck_assert(!ims_oc_via_parse(none, &v));
    ck_assert(!ims_oc_via_parse(NULL, &v));
}
END_TEST

/* ---- client ---- */

static struct ims_oc_via answer(unsigned value, unsigned validity, uint64_t seq)
{
    struct ims_oc_via v = { .oc = true, .has_value = true, .value = value, .loss = true,
                            .has_validity = true, .validity_ms = validity, .has_seq = true,
                            .seq_int = seq };
    return v;
}

START_TEST(client_drops_the_share_asked_for)
{
    static struct ims_oc_client c;
    uint64_t now = 5 * S;
    struct ims_oc_via v = answer(30, 1000, 100);
    ck_assert(ims_oc_client_update(&c, "127.0.0.30:5060", &v, now));
    unsigned dropped = 0;
    for (int i = 0; i < 100; i++)
        dropped += ims_oc_client_drop(&c, "127.0.0.30:5060", 0, now + (uint64_t)i * MS);
    ck_assert_uint_eq(dropped, 30);
    /* another next hop is not touched */
    ck_assert(!ims_oc_client_drop(&c, "127.0.0.20:5060", 0, now));
    ck_assert_uint_eq(ims_oc_client_loss(&c, "127.0.0.30:5060", now), 30);
    /* past its validity the reduction ends */
    ck_assert_uint_eq(ims_oc_client_loss(&c, "127.0.0.30:5060", now + 1001 * MS), 0);
    ck_assert(!ims_oc_client_drop(&c, "127.0.0.30:5060", 0, now + 1001 * MS));
}
END_TEST

START_TEST(client_keeps_the_newest_sequence)
{
    static struct ims_oc_client c;
    uint64_t now = 5 * S;
    struct ims_oc_via v = answer(50, 1000, 200), old = answer(10, 1000, 199);
    ck_assert(ims_oc_client_update(&c, "a:5060", &v, now));
    ck_assert(!ims_oc_client_update(&c, "a:5060", &old, now + MS));
    ck_assert_uint_eq(ims_oc_client_loss(&c, "a:5060", now + MS), 50);
    /* oc=0 ends it at once */
    struct ims_oc_via zero = answer(0, 1000, 201);
    ck_assert(ims_oc_client_update(&c, "a:5060", &zero, now + 2 * MS));
    ck_assert_uint_eq(ims_oc_client_loss(&c, "a:5060", now + 2 * MS), 0);
    /* so does oc-validity=0 */
    v = answer(40, 1000, 202);
    ck_assert(ims_oc_client_update(&c, "a:5060", &v, now + 3 * MS));
    struct ims_oc_via stop = answer(40, 0, 203);
    ck_assert(ims_oc_client_update(&c, "a:5060", &stop, now + 4 * MS));
    ck_assert_uint_eq(ims_oc_client_loss(&c, "a:5060", now + 4 * MS), 0);
    /* an algorithm other than loss, or no value, is not applied */
    struct ims_oc_via rate = answer(40, 1000, 300);
    rate.loss = false;
    ck_assert(!ims_oc_client_update(&c, "a:5060", &rate, now + 5 * MS));
    struct ims_oc_via offer_only = { .oc = true, .loss = true };
    ck_assert(!ims_oc_client_update(&c, "a:5060", &offer_only, now + 5 * MS));
}
END_TEST

START_TEST(client_default_validity_and_recycling)
{
    static struct ims_oc_client c;
    uint64_t now = 5 * S;
    struct ims_oc_via v = answer(100, 0, 1);
    v.has_validity = false;    /* 500 ms when absent */
    ck_assert(ims_oc_client_update(&c, "x:1", &v, now));
    ck_assert(ims_oc_client_drop(&c, "x:1", 0, now + 499 * MS));
    ck_assert(!ims_oc_client_drop(&c, "x:1", 0, now + 500 * MS));
    /* more next hops than entries: the least recently used entry is reused */
    char key[16];
    v = answer(20, 1000, 1);
    for (int i = 0; i < IMS_OC_PEERS + 4; i++) {
        snprintf(key, sizeof(key), "h%d:5060", i);
        ck_assert(ims_oc_client_update(&c, key, &v, now + (uint64_t)i));
    }
    ck_assert_uint_eq(ims_oc_client_loss(&c, "h0:5060", now + 100), 0);
    snprintf(key, sizeof(key), "h%d:5060", IMS_OC_PEERS + 3);
    ck_assert_uint_eq(ims_oc_client_loss(&c, key, now + 100), 20);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("overload");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, unlimited_while_the_delay_is_low);
    tcase_add_test(tc, a_long_delay_limits_to_what_was_admitted);
    tcase_add_test(tc, a_burst_keeps_half_of_what_was_taken_calmly);
    tcase_add_test(tc, refusing_most_of_a_flood_keeps_the_floor);
    tcase_add_test(tc, an_idle_pause_does_not_forget_what_was_taken_calmly);
    tcase_add_test(tc, few_samples_do_not_lower_the_rate);
    tcase_add_test(tc, the_rate_follows_the_admitted_load);
    tcase_add_test(tc, demand_held_back_by_clients_raises_the_rate);
    tcase_add_test(tc, a_fixed_ceiling_applies_from_the_start);
    tcase_add_test(tc, priority_work_is_refused_last);
    tcase_add_test(tc, mixed_classes_under_overload);
    tcase_add_test(tc, penalties_lower_the_rate);
    tcase_add_test(tc, loss_asked_is_the_demand_past_the_rate);
    tcase_add_test(tc, loss_passes_on_the_next_hops_without_compounding);
    tcase_add_test(tc, priority_clients_are_asked_last);
    tcase_add_test(tc, server_table_reuses_the_least_recently_used);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("via");
    tcase_add_test(tv, via_parse_client_offer);
    tcase_add_test(tv, via_parse_server_answer);
    tcase_add_test(tv, via_parse_rejects_bad_values);
    suite_add_tcase(s, tv);
    TCase *tcl = tcase_create("client");
    tcase_add_test(tcl, client_drops_the_share_asked_for);
    tcase_add_test(tcl, client_keeps_the_newest_sequence);
    tcase_add_test(tcl, client_default_validity_and_recycling);
    tcase_add_test(tcl, client_drops_only_what_upstream_did_not);
    suite_add_tcase(s, tcl);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
