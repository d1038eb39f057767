/*
 * hss.h - the HSS daemon's context and cross-file functions
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HSS_H
#define HSS_H

#include "daemon.h"
#include "db.h"

struct hss {
    struct ims_daemon *d;
    char db_path[512];
    struct ims_db *db;          /* the loop thread's connection */
};

/* db.c: schema migrations of the subscriber database */
extern const char *const hss_db_migrations[];
extern const size_t hss_db_nmigrations;

#endif
