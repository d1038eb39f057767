/*
 * map.h - a string-keyed hash map (keys are copied, values are the caller's pointers)
 *
 * Chaining with power-of-two buckets that double at a load factor of 1. Not thread-safe:
 * each map belongs to one thread (the loop thread for the CSCFs' state).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_MAP_H
#define IMS_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct ims_map;

/* @nocase: compare and hash keys case-insensitively (host names, identities) */
struct ims_map *ims_map_create(bool nocase);
/* Frees the map and its keys; values are left to the caller (see ims_map_foreach). */
void ims_map_destroy(struct ims_map *map);

void *ims_map_get(const struct ims_map *map, const char *key);
/* Insert or replace; returns the previous value (or NULL), and -ENOMEM through *err. */
void *ims_map_put(struct ims_map *map, const char *key, void *value, int *err);
/* Remove; returns the value that was stored (or NULL). */
void *ims_map_remove(struct ims_map *map, const char *key);
size_t ims_map_size(const struct ims_map *map);

/* Visit every entry; fn may remove the visited key (and only it). Returns the count. */
size_t ims_map_foreach(struct ims_map *map, void (*fn)(void *arg, const char *key, void *value),
                       void *arg);

#endif
