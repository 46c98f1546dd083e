/*  dn_array -- growing an array one element at a time.

    The one copy of "double the capacity when full": the caller keeps the
    array, its count n and its capacity cap, and before writing element n
    asks for room:

        s_item_t *more = dn_array_grow(items, &cap, n, sizeof *items, 16);
        if (!more)
            return DN_ENOMEM;   (items is still valid and still the caller's)
        items = more;
        items[n++] = ...;
*/
#ifndef DN_ARRAY_H
#define DN_ARRAY_H

#include <stddef.h>

/*  Returns array if it has room for element n (n < *cap); else array
    reallocated to twice *cap elements of elem_size bytes (first elements
    when *cap is 0), setting *cap.  Returns NULL, leaving array and *cap as
    they were, when the size would overflow or memory is short.  */
void *dn_array_grow(void *array, size_t *cap, size_t n, size_t elem_size, size_t first);

#endif
