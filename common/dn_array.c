/*  dn_array -- growing an array one element at a time (see dn_array.h).  */
#include "dn_array.h"

#include <stdint.h>
#include <stdlib.h>

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
