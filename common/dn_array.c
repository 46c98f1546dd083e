/*  dn_array -- growing an array one element at a time (see dn_array.h).  */
#include "dn_array.h"

#include "dn_error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *dn_array_grow(void *array, size_t *cap, size_t n, size_t elem_size, size_t first)
{
    size_t want;
    void *grown;
    if (n < *cap)
        return array;
    want = *cap ? *cap : first ? first : 1;
    while (want <= n) {
        if (want > SIZE_MAX / 2)
            return NULL;
        want *= 2;
    }
    if (elem_size == 0 || want > SIZE_MAX / elem_size)
        return NULL;
    if (!(grown = realloc(array, want * elem_size)))
        return NULL;
    *cap = want;
    return grown;
}

void *dn_slots_get(dn_slots_t *slots, int64_t id, size_t size)
{
    if (id <= 0 || (uint64_t)id > SIZE_MAX / 4 / sizeof *slots->slot)
        return NULL;
    if ((size_t)id >= slots->n) {
        size_t grow = (size_t)id * 2 + 16;
        void **bigger = realloc(slots->slot, grow * sizeof *bigger);
        if (!bigger)
            return NULL;
        memset(bigger + slots->n, 0, (grow - slots->n) * sizeof *bigger);
        slots->slot = bigger;
        slots->n = grow;
    }
    if (!slots->slot[id])
        slots->slot[id] = calloc(1, size);
    return slots->slot[id];
}

void dn_slots_clear(dn_slots_t *slots, void (*drop)(void *node))
{
    for (size_t i = 0; i < slots->n; i++) {
        if (slots->slot[i] && drop)
            drop(slots->slot[i]);
        free(slots->slot[i]);
    }
    free(slots->slot);
    slots->slot = NULL;
    slots->n = 0;
}

/*  1 when the entry has a byte that is not zero: in use.  */
static int s_used(const unsigned char *entry, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (entry[i])
            return 1;
    return 0;
}

int dn_table_room(dn_table_t *t, size_t size, size_t first,
                  size_t (*hash)(const void *entry))
{
    const unsigned char *old = t->entries;
    unsigned char *bigger;
    size_t grow;
    if ((t->n + 1) * 2 <= t->cap)
        return 0;
    grow = t->cap ? t->cap * 2 : first;
    if (size == 0 || grow == 0 || (grow & (grow - 1)) || grow > SIZE_MAX / 2 / size)
        return DN_ENOMEM;
    if (!(bigger = calloc(grow, size)))
        return DN_ENOMEM;
    for (size_t k = 0; k < t->cap; k++) {
        const unsigned char *entry = old + k * size;
        size_t i;
        if (!s_used(entry, size))
            continue;
        for (i = hash(entry) & (grow - 1); s_used(bigger + i * size, size);
             i = (i + 1) & (grow - 1))
            ;
        memcpy(bigger + i * size, entry, size);
    }
    free(t->entries);
    t->entries = bigger;
    t->cap = grow;
    return 0;
}

void dn_table_clear(dn_table_t *t, size_t size)
{
    if (t->entries)
        memset(t->entries, 0, t->cap * size);
    t->n = 0;
}

void dn_table_free(dn_table_t *t)
{
    free(t->entries);
    t->entries = NULL;
    t->n = t->cap = 0;
}
