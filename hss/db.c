/*
 * db.c - the HSS subscriber database schema (SQLite, WAL)
 *
 * Subscription -> private identities (IMPI, with their authentication data) -> public
 * identities (IMPU, PSI) shared through impi_impu; service profiles with their iFCs;
 * registration state per IMPU; Sh repository data and subscriptions.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"

static const char schema_v1[] =
    "CREATE TABLE subscription ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " scscf_name TEXT,"                    /* assigned S-CSCF (SIP URI) */
    " scscf_host TEXT,"                    /* its Diameter identity, for RTR/PPR */
    " mandatory_caps TEXT NOT NULL DEFAULT '',"
    " optional_caps TEXT NOT NULL DEFAULT '',"
    " ccf_primary TEXT, ccf_secondary TEXT, ecf_primary TEXT, ecf_secondary TEXT,"
    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
    " updated INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
    "CREATE TABLE visited_network ("
    " subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
    " network TEXT NOT NULL,"
    " PRIMARY KEY (subscription_id, network));"
    "CREATE TABLE impi ("
    " id INTEGER PRIMARY KEY,"
    " subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
    " identity TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " password TEXT,"
    " ha1 TEXT,"
    " k BLOB, opc BLOB, amf BLOB,"
    " sqn INTEGER NOT NULL DEFAULT 0,"
    " schemes TEXT NOT NULL DEFAULT 'digest,akav1,akav2',"
    " default_scheme TEXT NOT NULL DEFAULT 'digest',"
    " imsi TEXT, msisdn TEXT,"
    " barred INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX impi_subscription ON impi(subscription_id);"
    "CREATE TABLE service_profile ("
    " id INTEGER PRIMARY KEY,"
    " subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " UNIQUE (subscription_id, name));"
    "CREATE TABLE ifc ("
    " id INTEGER PRIMARY KEY,"
    " profile_id INTEGER NOT NULL REFERENCES service_profile(id) ON DELETE CASCADE,"
    " priority INTEGER NOT NULL,"
    " spec TEXT NOT NULL,"                 /* the provisioned JSON form */
    " xml TEXT NOT NULL,"                  /* one <InitialFilterCriteria> element */
    " unreg_services INTEGER NOT NULL DEFAULT 0);"  /* applies to unregistered users */
    "CREATE INDEX ifc_profile ON ifc(profile_id);"
    "CREATE TABLE profile_shared_ifc ("
    " profile_id INTEGER NOT NULL REFERENCES service_profile(id) ON DELETE CASCADE,"
    " shared_ifc INTEGER NOT NULL,"
    " PRIMARY KEY (profile_id, shared_ifc));"
    "CREATE TABLE impu ("
    " id INTEGER PRIMARY KEY,"
    " identity TEXT NOT NULL UNIQUE,"
    /* TS 29.228 IdentityType: 0 public user identity, 1 distinct PSI, 2 wildcarded PSI,
     * 3 wildcarded public user identity */
    " type INTEGER NOT NULL DEFAULT 0 CHECK (type BETWEEN 0 AND 3),"
    " wildcard TEXT,"                      /* extended regex for the wildcarded types */
    " subscription_id INTEGER REFERENCES subscription(id) ON DELETE CASCADE,"
    " profile_id INTEGER REFERENCES service_profile(id) ON DELETE SET NULL,"
    " implicit_set INTEGER,"
    " barred INTEGER NOT NULL DEFAULT 0,"
    " display_name TEXT,"
    " psi_as TEXT,"                        /* PSI: the AS that hosts it */
    " psi_active INTEGER NOT NULL DEFAULT 1,"
    " reg_state INTEGER NOT NULL DEFAULT 0 CHECK (reg_state BETWEEN 0 AND 2));"
    "CREATE INDEX impu_subscription ON impu(subscription_id);"
    "CREATE INDEX impu_implicit ON impu(implicit_set);"
    "CREATE TABLE impi_impu ("
    " impi_id INTEGER NOT NULL REFERENCES impi(id) ON DELETE CASCADE,"
    " impu_id INTEGER NOT NULL REFERENCES impu(id) ON DELETE CASCADE,"
    " registered INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (impi_id, impu_id));"
    "CREATE INDEX impi_impu_impu ON impi_impu(impu_id);"
    "CREATE TABLE sh_data ("
    " impu_id INTEGER NOT NULL REFERENCES impu(id) ON DELETE CASCADE,"
    " service_indication TEXT NOT NULL,"
    " sequence INTEGER NOT NULL,"
    " data TEXT NOT NULL,"
    " PRIMARY KEY (impu_id, service_indication));"
    "CREATE TABLE sh_subscription ("
    " id INTEGER PRIMARY KEY,"
    " impu_id INTEGER NOT NULL REFERENCES impu(id) ON DELETE CASCADE,"
    " as_host TEXT NOT NULL,"
    " as_realm TEXT NOT NULL,"
    " data_reference INTEGER NOT NULL,"
    " service_indication TEXT,"
    " expiry INTEGER);"
    "CREATE INDEX sh_subscription_impu ON sh_subscription(impu_id);"
    /* SLF mode: which HSS holds an identity (exact identity or extended regex) */
    "CREATE TABLE slf_route ("
    " id INTEGER PRIMARY KEY,"
    " pattern TEXT NOT NULL UNIQUE,"
    " regex INTEGER NOT NULL DEFAULT 0,"
    " hss TEXT NOT NULL);";

/* version 2 (issue 16): the access bindings of early IMS and NASS-bundled authentication;
 * the new scheme names (tispan-digest, packetcable-digest, early-ims, nass-bundled) fit the
 * schemes text as it is */
static const char schema_v2[] =
    "ALTER TABLE impi ADD COLUMN ip_address TEXT;"   /* "192.0.2.7", "2001:db8:1:2::/64" */
    "ALTER TABLE impi ADD COLUMN line_ids TEXT;";    /* Line-Identifiers, one per line */

const char *const hss_db_migrations[] = { schema_v1, schema_v2 };
const size_t hss_db_nmigrations = sizeof(hss_db_migrations) / sizeof(hss_db_migrations[0]);
