/*  dn_refusal -- what the server refused, counted by kind (see dn_refusal.h).  */
#include "dn_refusal.h"
#include "dn_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic int64_t s_totals[DN_REFUSAL_KINDS];
static int64_t s_summed[DN_REFUSAL_KINDS]; /* the totals at the last summary */

#define DN_REFUSAL_NAME(kind, name, text) name,
#define DN_REFUSAL_TEXT(kind, name, text) text,
static const char *const s_names[] = {DN_REFUSALS(DN_REFUSAL_NAME)};
static const char *const s_texts[] = {DN_REFUSALS(DN_REFUSAL_TEXT)};

void dn_refusal_count(dn_refusal_t kind)
{
    if (kind >= 0 && kind < DN_REFUSAL_KINDS)
        atomic_fetch_add_explicit(&s_totals[kind], 1, memory_order_relaxed);
}

int64_t dn_refusal_total(dn_refusal_t kind)
{
    return kind >= 0 && kind < DN_REFUSAL_KINDS
               ? atomic_load_explicit(&s_totals[kind], memory_order_relaxed)
               : 0;
}

const char *dn_refusal_name(dn_refusal_t kind)
{
    return kind >= 0 && kind < DN_REFUSAL_KINDS ? s_names[kind] : "?";
}

const char *dn_refusal_text(dn_refusal_t kind)
{
    return kind >= 0 && kind < DN_REFUSAL_KINDS ? s_texts[kind] : "?";
}

static struct {
    char name[16];
    _Atomic int strangers;
} s_ports[DN_REFUSAL_PORTS];
static _Atomic int s_n_ports;

void dn_refusal_set_strangers(const char *port, int strangers)
{
    int n = atomic_load(&s_n_ports), i = 0;
    while (i < n && strcmp(s_ports[i].name, port) != 0)
        i++;
    if (i == n) { /* a new port: only the door's thread adds them */
        if (n == DN_REFUSAL_PORTS)
            return;
        snprintf(s_ports[i].name, sizeof s_ports[i].name, "%s", port);
        atomic_store(&s_ports[i].strangers, strangers);
        atomic_store(&s_n_ports, n + 1);
        return;
    }
    atomic_store(&s_ports[i].strangers, strangers);
}

const char *dn_refusal_port(int i, int *strangers)
{
    if (i < 0 || i >= atomic_load(&s_n_ports))
        return NULL;
    *strangers = atomic_load(&s_ports[i].strangers);
    return s_ports[i].name;
}

void dn_refusal_summary(void)
{
    char line[1024];
    size_t used = 0;
    for (int k = 0; k < DN_REFUSAL_KINDS; k++) {
        int64_t total = dn_refusal_total((dn_refusal_t)k);
        int64_t moved = total - s_summed[k];
        s_summed[k] = total;
        if (moved > 0 && used < sizeof line) {
            int n = snprintf(line + used, sizeof line - used, "%s%s %lld (%lld since start)",
                             used ? ", " : "", s_names[k], (long long)moved, (long long)total);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (used)
        dn_log_warn("refusals in the last minute: %s", line);
}
