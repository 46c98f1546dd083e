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
#include <stdint.h>

/*  Returns array if it has room for element n (n < *cap); else array
    reallocated to twice *cap elements of elem_size bytes (first elements
    when *cap is 0), setting *cap.  Returns NULL, leaving array and *cap as
    they were, when the size would overflow or memory is short.  */
void *dn_array_grow(void *array, size_t *cap, size_t n, size_t elem_size, size_t first);

/*  A cache of nodes indexed by a small positive id (a partner id): each
    node is allocated, zeroed, on first use and stays where it is until
    dn_slots_clear, so a caller may hold several while it asks for more
    (the table of pointers grows; the nodes never move).  Start from a
    zeroed dn_slots_t.  */
typedef struct {
    void **slot; /* slot[id]: the node, or NULL */
    size_t n;
} dn_slots_t;

/*  The node of id (size bytes), made zeroed if new.  Returns NULL when id
    is below 1 or too large to index, or when memory is short.  */
void *dn_slots_get(dn_slots_t *slots, int64_t id, size_t size);

/*  Frees every node, after drop(node) (NULL: none) frees what it owns, and
    the table: the slots are empty again.  */
void dn_slots_clear(dn_slots_t *slots, void (*drop)(void *node));

#endif
