/*  bench_unpack -- what a message of many tiny repeated elements costs to
    refuse: protobuf-c's unpack alone (what dn_wire ran before its pre-scan)
    side by side with dn_wire's unpack, on the same bytes, each measured in
    a child process of its own (peak RSS growth and time).

    The messages are the largest of their kind under dn_wire's size bounds:
    a PushBatch of 557,000 empty events (1.06 MiB, under
    DN_MAX_SYNC_MSG_BYTES), a sale of 32,700 empty lines (64 KiB, under
    DN_MAX_EVENT_BYTES) and an admin request of 524,000 empty arguments
    (1 MiB).  A million elements do not fit under any bound: dn_wire
    refuses those by their size before reading a byte.
*/
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *what;
    const ProtobufCMessageDescriptor *desc;
    uint8_t outer; /* tag of the field holding the repeated one, 0: none */
    uint8_t tag;   /* tag of one (empty) element */
    size_t n;      /* elements */
} s_case_t;

static size_t s_build(const s_case_t *c, uint8_t *buf)
{
    size_t len = 0, inner = 2 * c->n;
    if (c->outer) {
        buf[len++] = c->outer;
        for (size_t v = inner;; v >>= 7) {
            buf[len++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f)
                break;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        buf[len++] = c->tag;
        buf[len++] = 0;
    }
    return len;
}

static int s_dn_wire(const s_case_t *c, const uint8_t *buf, size_t len, char *why)
{
    void *msg = NULL;
    int rc;
    if (c->desc == &dealernet__event__descriptor) {
        rc = dn_wire_event_unpack(buf, len, (Dealernet__Event **)&msg, why, 200);
        dn_wire_event_free((Dealernet__Event **)&msg);
    } else if (c->desc == &dealernet__sync_message__descriptor) {
        rc = dn_wire_sync_unpack(buf, len, (Dealernet__SyncMessage **)&msg, why, 200);
        dn_wire_sync_free((Dealernet__SyncMessage **)&msg);
    } else {
        rc = dn_wire_admin_request_unpack(buf, len, (Dealernet__AdminRequest **)&msg, why,
                                          200);
        dn_wire_admin_request_free((Dealernet__AdminRequest **)&msg);
    }
    return rc;
}

enum { M_PROTOBUF_C, M_DN_WIRE, M_NOTHING };

/*  Runs one unpack (or, for the baseline, nothing) in a child; returns its
    peak RSS growth (KiB) and time (ms) through a pipe.  */
static void s_run(const s_case_t *c, const uint8_t *buf, size_t len, int mode)
{
    char why[200] = "";
    if (mode == M_DN_WIRE) {
        s_dn_wire(c, buf, len, why);
    } else if (mode == M_PROTOBUF_C) {
        ProtobufCMessage *msg = protobuf_c_message_unpack(c->desc, NULL, len, buf);
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
    }
}

/*  Runs one unpack (or, for the baseline, nothing) in a child, after a
    first run on a message of ten elements that pages the code in; returns
    the peak RSS growth (KiB) and time (ms) of the second run through a
    pipe.  */
static void s_measure(const s_case_t *c, const uint8_t *buf, size_t len, int mode,
                      long *kib, double *ms)
{
    int fds[2];
    pid_t pid;
    *kib = -1;
    *ms = -1;
    if (pipe(fds) != 0 || (pid = fork()) < 0)
        return;
    if (pid == 0) {
        s_case_t warm = *c;
        uint8_t small[64];
        struct rusage ru;
        struct timespec t0, t1;
        long before, result[2];
        close(fds[0]);
        warm.n = 10;
        s_run(&warm, small, s_build(&warm, small), mode);
        getrusage(RUSAGE_SELF, &ru);
        before = ru.ru_maxrss;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        s_run(c, buf, len, mode);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        getrusage(RUSAGE_SELF, &ru);
        result[0] = ru.ru_maxrss - before;
        result[1] = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
        if (write(fds[1], result, sizeof result) != sizeof result)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    long result[2];
    if (read(fds[0], result, sizeof result) == sizeof result) {
        *kib = result[0];
        *ms = (double)result[1] / 1000.0;
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    static const s_case_t cases[] = {
        {"PushBatch of 557,000 empty events", &dealernet__sync_message__descriptor, 0x1a,
         0x12, 557000},
        {"sale of 32,700 empty lines", &dealernet__event__descriptor, 0x52, 0x0a, 32700},
        {"admin request of 524,000 arguments", &dealernet__admin_request__descriptor, 0,
         0x1a, 524000},
    };
    uint8_t *buf = calloc(1, 2 * 1024 * 1024);
    if (!buf)
        return 1;
    long kib_base;
    double ms_base;
    s_measure(&cases[0], buf, 0, M_NOTHING, &kib_base, &ms_base);
    printf("bench_unpack: refusing many tiny repeated elements, protobuf-c alone vs "
           "dn_wire (pre-scan), peak RSS growth (a child doing nothing: +%ld KiB)\n",
           kib_base);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_case_t *c = &cases[i];
        size_t len = s_build(c, buf);
        char why[200] = "";
        long kib_pc, kib_dn;
        double ms_pc, ms_dn;
        s_dn_wire(c, buf, len, why);
        s_measure(c, buf, len, M_PROTOBUF_C, &kib_pc, &ms_pc);
        s_measure(c, buf, len, M_DN_WIRE, &kib_dn, &ms_dn);
        printf("  %s (%zu bytes): protobuf-c +%ld KiB %.1f ms; dn_wire +%ld KiB %.1f ms "
               "(%.0fx less memory, %.1fx faster): %s\n",
               c->what, len, kib_pc, ms_pc, kib_dn, ms_dn,
               (double)kib_pc / (double)(kib_dn > 0 ? kib_dn : 1),
               ms_pc / (ms_dn > 0.001 ? ms_dn : 0.001), why);
    }
    free(buf);
    return 0;
}
