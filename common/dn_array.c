/*  dn_array -- growing an array one element at a time (see dn_array.h).  */
#include "dn_array.h"

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
