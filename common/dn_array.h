/*  dn_array -- growing an array one element at a time; a cache of nodes
    by id (dn_slots); an open-addressing table (dn_table).

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

/*  An open-addressing table: entries of the caller's type in a power-of-two
    capacity, linear probing, never more than half full.  An entry in use
    has a key that is not zero; an empty entry is all zero bytes.  The one
    copy of "grow and place every entry anew"; the caller probes itself:

        if (dn_table_room(&t, sizeof(s_move_t), 64, s_move_rehash))
            return DN_ENOMEM;
        s_move_t *moves = t.entries;
        size_t mask = t.cap - 1, i;
        for (i = s_move_hash(key) & mask; moves[i].partner; i = (i + 1) & mask)
            if (the same key)
                return &moves[i];
        (fill moves[i]; t.n++)

    Entries move when the table grows: hold none across dn_table_room.
    Start from a zeroed dn_table_t.  */
typedef struct {
    void *entries;
    size_t n, cap; /* entries in use, entries in all */
} dn_table_t;

/*  Makes room for one more entry of size bytes: when n + 1 would pass half
    the capacity, the capacity doubles (first entries the first time) and
    each entry in use goes where hash(entry) & (cap - 1) first finds an
    empty one, in the order the entries had.  Returns 0, or DN_ENOMEM
    leaving the table as it was.  */
int dn_table_room(dn_table_t *t, size_t size, size_t first,
                  size_t (*hash)(const void *entry));

/*  Empties every entry; keeps the memory.  */
void dn_table_clear(dn_table_t *t, size_t size);

/*  Frees the entries: the table is empty, with no capacity.  */
void dn_table_free(dn_table_t *t);

#endif
