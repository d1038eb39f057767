/*
 * prio.h - background threads below the SIP loop: a scheduling priority (nice value) per
 * thread
 *
 * A CSCF's latency is its SIP loop's: a request waits in its socket while the loop waits
 * for a core. Its charging (the Rf spool's thread, the P-CSCF's freeDiameter threads) is
 * work that can wait: a record is spooled and sent a little later at no cost to anyone.
 * On Linux a nice value belongs to a thread, and a thread starts with its creator's;
 * lowering one's own priority needs no privilege (raising it back does).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_PRIO_H
#define IMS_PRIO_H

/* The calling thread runs @levels nice levels below its present priority (at most 19).
 * 0 or a negative @levels: nothing. 0 or -errno. */
int ims_prio_lower_self(int levels);

/* The nice value of thread @tid (0: the caller), or INT_MIN when it cannot be read */
int ims_prio_of(int tid);

/*
 * ims_prio_run_lowered - run fn(arg) on a thread of its own, @levels nice levels below the
 * caller, and wait for it: every thread fn creates (and those threads create) inherits that
 * priority; the caller's stays. @levels <= 0 (or no thread to be had, logged): fn runs on
 * the caller's thread. Returns fn's value.
 */
int ims_prio_run_lowered(int levels, int (*fn)(void *), void *arg);

#endif
