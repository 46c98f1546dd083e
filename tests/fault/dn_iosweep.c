/*  dn_iosweep -- the I/O-error and out-of-memory sweep (issue 6, item 2).

    A small scenario runs on real files in a throwaway folder: an agent is
    initialised, prices two SKUs, signs up two members, records three
    sales, a refund and a member update, each as its own "command" (open
    agent.db, record, close); then one server session syncs it -- the
    agent reads and signs three batches, the server applies them to
    central.db through dn_ingest (ledger postings and report rollups in the
    same transaction), one batch on its own and two more with a resend of
    the first in one group commit, exactly as dn_server.c wraps them
    (BEGIN IMMEDIATE, SAVEPOINT per batch, COMMIT), and the agent marks
    what was acknowledged.

    Each sweep fails one thing, the N-th of its kind, for every N from 1
    until a run meets no N-th:
      vfs write   the N-th xWrite of a shim VFS registered as the default
                  (main db, WAL and journal files alike) fails with
                  SQLITE_IOERR_WRITE; "vfs full" the same with SQLITE_FULL;
      vfs sync    the N-th xSync fails with SQLITE_IOERR_FSYNC;
      vfs trunc   the N-th xTruncate fails with SQLITE_IOERR_TRUNCATE;
      alloc       the N-th allocation fails: every malloc, calloc and
                  realloc of the process (SQLite, OpenSSL, protobuf-c,
                  jansson and dealernet's own), by defining them here over
                  glibc's __libc_malloc & co.  Under AddressSanitizer,
                  which owns malloc, only SQLite's allocations are failed
                  (SQLITE_CONFIG_MALLOC), and the line says so.
    N counts from the start of one step of the scenario, whose starting
    files are restored from the fault-free reference run, so a sweep costs
    the sum of its steps rather than their square.  Every run is a child
    process: a crash is counted, not fatal.

    After the fault the operation that met it must have failed, or else
    have done all it said; the files are closed and reopened, must pass
    PRAGMA integrity_check, and must hold the state of before or after the
    operation (agent: every event with its projection, the chain whole;
    server: every event with its rows, transfers, balances and rollups --
    dn_verify_run finds no difference and a rebuild of the rollups
    equals them -- and whole batches only, never beyond what the agent
    logged, never short of what was acknowledged).  Then the rest of the
    scenario runs without faults, retrying what failed as a clerk or the
    agent would, and the final state must equal the reference exactly
    (decoded events, projections, transfers, balances, rollups; not the
    random ids).  A transient failure reported as a permanent one (a
    refusal as malformed, "no such SKU") is counted as misreported.

    Usage: dn_iosweep [--only write|full|sync|trunc|alloc] [--stride K]
                      [--alloc-stride K] [--jobs J] [--rest | --end-of-step]
                      [--replay STEP POINT] [--keep] [--verbose]
      --stride K        only N = 1, 1+K, 1+2K ... (and the first N past the
                        end); --alloc-stride K the same for the alloc sweep
      --jobs J          runs at a time (default: processors, at most 4)
      --rest            after an alloc fault run the whole rest too (the
                        vfs sweeps always do; the alloc sweep by default
                        compares at the end of the step: --end-of-step)
      --replay S N      one run, step S, point N, in this process
      --keep            leave the files (snapshots, last runs)
    Exit 0 when every sweep had points and nothing was half-applied,
    corrupt, lost, mismatched, misreported or crashed; 1 otherwise.
*/
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_plan.h"
#include "dn_record.h"
#include "dn_testctl.h"
#include "dn_registry.h"
#include "dn_rollup.h"
#include "dn_store.h"
#include "dn_verify.h"
#include "dn_wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* -- which allocator can be failed --------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define DN_SWEEP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DN_SWEEP_ASAN 1
#endif
#endif
#ifndef DN_SWEEP_ASAN
#define DN_SWEEP_ASAN 0
#endif

/* -- the fault ------------------------------------------------------------ */

typedef enum {
    K_WRITE = 0, /* xWrite -> SQLITE_IOERR_WRITE */
    K_FULL,      /* xWrite -> SQLITE_FULL */
    K_SYNC,      /* xSync -> SQLITE_IOERR_FSYNC */
    K_TRUNC,     /* xTruncate -> SQLITE_IOERR_TRUNCATE */
    K_ALLOC,     /* an allocation returns NULL */
    K_COUNT
} s_kind_t;

static const char *const s_kind_name[K_COUNT] = {"vfs write", "vfs full", "vfs sync",
                                                 "vfs trunc", "alloc"};
static const char *const s_kind_arg[K_COUNT] = {"write", "full", "sync", "trunc",
                                                "alloc"};

/*  One fault, armed for one run.  Single-threaded: nothing here locks.  */
static struct {
    int armed; /* counting points of kind */
    s_kind_t kind;
    long count;  /* points met since armed */
    long target; /* the point that fails (1-based); 0: count only; -1: off */
    int fired;   /* the target was met */
} s_fault;

/*  Called at every point of a kind: returns 1 if this one must fail.  */
static int s_point(s_kind_t kind)
{
    if (!s_fault.armed || s_fault.kind != kind)
        return 0;
    if (++s_fault.count != s_fault.target)
        return 0;
    s_fault.fired = 1;
    s_fault.armed = 0; /* one fault per run: what follows runs clean */
    return 1;
}

/* -- failing allocations ---------------------------------------------------- */

#if !DN_SWEEP_ASAN
/*  The process's allocator, defined here over glibc's own entry points
    (glibc supports replacing malloc this way; every library of the
    process, libc's strdup included, then calls these).  */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

void *malloc(size_t size)
{
    if (s_point(K_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    if (s_point(K_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
    if (size && s_point(K_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    __libc_free(ptr);
}
#define DN_SWEEP_ALLOC_WHAT "every malloc/calloc/realloc of the process"
#else
/*  AddressSanitizer owns malloc: fail SQLite's allocations only.  */
static sqlite3_mem_methods s_sqlite_mem;

static void *s_sqlite_malloc(int size)
{
    return s_point(K_ALLOC) ? NULL : s_sqlite_mem.xMalloc(size);
}

static void *s_sqlite_realloc(void *ptr, int size)
{
    return s_point(K_ALLOC) ? NULL : s_sqlite_mem.xRealloc(ptr, size);
}
#define DN_SWEEP_ALLOC_WHAT                                                              \
    "SQLite's allocations only: the process malloc is not interposed under "             \
    "AddressSanitizer"
#endif

static int s_alloc_setup(void)
{
#if DN_SWEEP_ASAN
    sqlite3_mem_methods mem;
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &s_sqlite_mem) != SQLITE_OK)
        return -1;
    mem = s_sqlite_mem;
    mem.xMalloc = s_sqlite_malloc;
    mem.xRealloc = s_sqlite_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK)
        return -1;
#endif
    return 0;
}

/* -- the shim VFS ------------------------------------------------------------- */

/*  A file of the shim: the real VFS's file follows it in memory.  */
typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
} s_file_t;

static sqlite3_vfs *s_real_vfs;
static sqlite3_vfs s_vfs;

#define REAL(f) (((s_file_t *)(f))->real)

static int s_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int s_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}

static int s_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    if (s_point(K_WRITE))
        return SQLITE_IOERR_WRITE;
    if (s_point(K_FULL))
        return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (s_point(K_TRUNC))
        return SQLITE_IOERR_TRUNCATE;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int s_sync(sqlite3_file *f, int flags)
{
    if (s_point(K_SYNC))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int s_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int s_lock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int s_unlock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int s_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int s_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int s_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int s_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int s_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, p);
}

static int s_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void s_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int s_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int s_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **p)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, amt, p);
}

static int s_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/*  One table per io_methods version the real VFS may hand out.  */
static sqlite3_io_methods s_methods[4];

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                  int *out_flags)
{
    s_file_t *f = (s_file_t *)file;
    int rc;
    (void)vfs;
    f->real = (sqlite3_file *)(f + 1);
    rc = s_real_vfs->xOpen(s_real_vfs, name, f->real, flags, out_flags);
    if (f->real->pMethods) {
        int version = f->real->pMethods->iVersion;
        f->base.pMethods = &s_methods[version >= 1 && version <= 3 ? version : 1];
    } else {
        f->base.pMethods = NULL;
    }
    return rc;
}

static int s_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return s_real_vfs->xDelete(s_real_vfs, name, sync_dir);
}

static int s_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return s_real_vfs->xAccess(s_real_vfs, name, flags, out);
}

static int s_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return s_real_vfs->xFullPathname(s_real_vfs, name, n, out);
}

static void *s_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return s_real_vfs->xDlOpen(s_real_vfs, name);
}

static void s_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    s_real_vfs->xDlError(s_real_vfs, n, out);
}

static void (*s_dlsym(sqlite3_vfs *vfs, void *handle, const char *name))(void)
{
    (void)vfs;
    return s_real_vfs->xDlSym(s_real_vfs, handle, name);
}

static void s_dlclose(sqlite3_vfs *vfs, void *handle)
{
    (void)vfs;
    s_real_vfs->xDlClose(s_real_vfs, handle);
}

static int s_random(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_real_vfs->xRandomness(s_real_vfs, n, out);
}

static int s_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return s_real_vfs->xSleep(s_real_vfs, us);
}

static int s_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return s_real_vfs->xCurrentTime(s_real_vfs, out);
}

static int s_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_real_vfs->xGetLastError ? s_real_vfs->xGetLastError(s_real_vfs, n, out) : 0;
}

static int s_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return s_real_vfs->xCurrentTimeInt64(s_real_vfs, out);
}

/*  Registers the shim as the default VFS, over the one SQLite had.  */
static int s_vfs_setup(void)
{
    s_real_vfs = sqlite3_vfs_find(NULL);
    if (!s_real_vfs || s_real_vfs->iVersion < 2)
        return -1;
    for (int v = 1; v <= 3; v++) {
        sqlite3_io_methods *m = &s_methods[v];
        m->iVersion = v;
        m->xClose = s_close;
        m->xRead = s_read;
        m->xWrite = s_write;
        m->xTruncate = s_truncate;
        m->xSync = s_sync;
        m->xFileSize = s_size;
        m->xLock = s_lock;
        m->xUnlock = s_unlock;
        m->xCheckReservedLock = s_reserved;
        m->xFileControl = s_control;
        m->xSectorSize = s_sector;
        m->xDeviceCharacteristics = s_device;
        if (v >= 2) {
            m->xShmMap = s_shm_map;
            m->xShmLock = s_shm_lock;
            m->xShmBarrier = s_shm_barrier;
            m->xShmUnmap = s_shm_unmap;
        }
        if (v >= 3) {
            m->xFetch = s_fetch;
            m->xUnfetch = s_unfetch;
        }
    }
    s_vfs.iVersion = 2;
    s_vfs.szOsFile = (int)sizeof(s_file_t) + s_real_vfs->szOsFile;
    s_vfs.mxPathname = s_real_vfs->mxPathname;
    s_vfs.zName = "dn-iosweep";
    s_vfs.xOpen = s_open;
    s_vfs.xDelete = s_delete;
    s_vfs.xAccess = s_access;
    s_vfs.xFullPathname = s_fullpath;
    s_vfs.xDlOpen = s_dlopen;
    s_vfs.xDlError = s_dlerror;
    s_vfs.xDlSym = s_dlsym;
    s_vfs.xDlClose = s_dlclose;
    s_vfs.xRandomness = s_random;
    s_vfs.xSleep = s_sleep;
    s_vfs.xCurrentTime = s_time;
    s_vfs.xGetLastError = s_last_error;
    s_vfs.xCurrentTimeInt64 = s_time64;
    return sqlite3_vfs_register(&s_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/* -- a growing text buffer ----------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} s_buf_t;

static void s_add(s_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_add(s_buf_t *b, const char *fmt, ...)
{
    va_list args;
    int n;
    if (b->oom)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(args, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, args);
        va_end(args);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void s_buf_free(s_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* -- the scenario's world --------------------------------------------------------- */

#define SITE    "SHOP-01"
#define PHONE_A "+8613800000001"
#define PHONE_B "+8613800000002"

#define SETUP_MS INT64_C(1765789200000) /* 2025-12-15T09:00Z: the tree, plan, site */
#define EVENT_MS INT64_C(1770717600000) /* 2026-02-10T10:00Z: the shop's clock */
#define SYNC_MS  INT64_C(1770804000000) /* 2026-02-11T10:00Z: the server's */

/*  The site's signing key: 32 fixed bytes, for this test only.  */
static const uint8_t s_seed[32] = "dealernet-iosweep-site-key-0001";

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "1 = 300\n"
                             "2 = 100\n"
                             "[category:rice]\n"
                             "0 = 500\n"
                             "1 = 200\n"
                             "[referral]\n"
                             "first_purchase_bonus = 5.00\n"
                             "purchase_bps = 100\n"
                             "purchase_days = 365\n"
                             "recruit_override_bps = 50\n"
                             "recruit_override_days = 365\n";

/*  Batches the agent sends, by their last seq (the scenario's 7 events).  */
static const uint64_t s_batch_end[] = {3, 5, 7};
#define N_BATCHES 3
#define N_EVENTS  7

typedef struct {
    char dir[256]; /* the run's folder: agent.db, central.db */
    char agent_db[300];
    char central_db[300];
    int64_t clock_ms; /* the shop's clock for the step in hand */
    int verbose;
} s_world_t;

static s_world_t W;

static int64_t s_clock(void *arg)
{
    (void)arg;
    return W.clock_ms;
}

/* -- the findings of one run ------------------------------------------------------- */

typedef struct {
    int complete;   /* the child wrote this at its end */
    int fired;      /* the fault was met */
    int surfaced;   /* the operation that met it failed */
    int absorbed;   /* ... succeeded, and did all it said */
    int ambiguous;  /* ... failed, but its effect is there */
    int half;       /* a state neither before nor after; rows without their event */
    int lost;       /* acknowledged, then missing */
    int integrity;  /* integrity_check failures */
    int mismatch;   /* final state differs from the reference */
    int misreport;  /* a transient fault reported as a permanent error */
    int retry_fail; /* the clean retry failed */
    char what[256]; /* the first problem */
} s_result_t;

static s_result_t R;

static void s_problem(int *counter, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_problem(int *counter, const char *fmt, ...)
{
    va_list args;
    (*counter)++;
    if (R.what[0])
        return;
    va_start(args, fmt);
    vsnprintf(R.what, sizeof R.what, fmt, args);
    va_end(args);
}

/*  A transient failure is what an I/O error or a lack of memory may
    rightly give; anything else, for input the reference run accepted, is
    a misreport.  */
static int s_transient(int rc)
{
    return rc == DN_EDB || rc == DN_ENOMEM || rc == DN_EIO || rc == DN_ECRYPTO ||
           rc == DN_EAGAIN;
}

/* -- canonical dumps: the state without its random ids ----------------------------- */

/*  What a dump reads from: the connection, which file it is, and the
    statement that names ids (prepared once per dump).  */
typedef struct {
    sqlite3 *db;
    int central;
    sqlite3_stmt *names;
} s_dumper_t;

/*  Names a 16-byte id by what it is in the file: "E<seq>" for an event,
    "M<phone>" for a member; "?" otherwise.  */
static void s_name_id(s_dumper_t *d, const uint8_t *id, size_t len, s_buf_t *b)
{
    static const char *const agent_sql =
        "SELECT 'E' || seq FROM events WHERE id = ?1 "
        "UNION ALL SELECT 'M' || phone FROM members WHERE id = ?1 LIMIT 1";
    static const char *const central_sql =
        "SELECT 'E' || seq FROM events WHERE id = ?1 "
        "UNION ALL SELECT 'M' || phone FROM members WHERE member_id = ?1 "
        "UNION ALL SELECT 'C' || eid FROM member_conflicts WHERE member_id = ?1 LIMIT 1";
    if (!d->names && sqlite3_prepare_v2(d->db, d->central ? central_sql : agent_sql, -1,
                                        &d->names, NULL) != SQLITE_OK) {
        s_add(b, "!prepare");
        return;
    }
    sqlite3_reset(d->names);
    sqlite3_bind_blob(d->names, 1, id, (int)len, SQLITE_STATIC);
    if (sqlite3_step(d->names) == SQLITE_ROW)
        s_add(b, "%s", (const char *)sqlite3_column_text(d->names, 0));
    else
        s_add(b, "?");
    sqlite3_reset(d->names);
}

/*  Writes every field of a decoded message, ids by name, hashes left out
    (the chains are checked on their own).  */
static void s_dump_msg(s_dumper_t *dd, const ProtobufCMessage *m, s_buf_t *b)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    s_add(b, "{");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *value = base + f->offset;
        size_t n = 1, size;
        if (strcmp(f->name, "prev_hash") == 0)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            value = *(const char *const *)value;
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
                   f->type == PROTOBUF_C_TYPE_STRING) {
            if (!*(const void *const *)value)
                continue;
        } else if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
            continue;
        }
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            size = 8;
            break;
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_MESSAGE:
            size = sizeof(void *);
            break;
        case PROTOBUF_C_TYPE_BYTES:
            size = sizeof(ProtobufCBinaryData);
            break;
        default:
            size = 4;
        }
        s_add(b, " %s=", f->name);
        for (size_t k = 0; k < n; k++, value += size) {
            if (k)
                s_add(b, ",");
            switch (f->type) {
            case PROTOBUF_C_TYPE_INT64:
            case PROTOBUF_C_TYPE_SINT64:
            case PROTOBUF_C_TYPE_SFIXED64:
                s_add(b, "%lld", (long long)*(const int64_t *)value);
                break;
            case PROTOBUF_C_TYPE_UINT64:
            case PROTOBUF_C_TYPE_FIXED64:
                s_add(b, "%llu", (unsigned long long)*(const uint64_t *)value);
                break;
            case PROTOBUF_C_TYPE_INT32:
            case PROTOBUF_C_TYPE_SINT32:
            case PROTOBUF_C_TYPE_SFIXED32:
            case PROTOBUF_C_TYPE_ENUM:
                s_add(b, "%d", *(const int32_t *)value);
                break;
            case PROTOBUF_C_TYPE_UINT32:
            case PROTOBUF_C_TYPE_FIXED32:
            case PROTOBUF_C_TYPE_BOOL:
                s_add(b, "%u", *(const uint32_t *)value);
                break;
            case PROTOBUF_C_TYPE_STRING:
                s_add(b, "'%s'", *(const char *const *)value);
                break;
            case PROTOBUF_C_TYPE_BYTES: {
                const ProtobufCBinaryData *bin = (const ProtobufCBinaryData *)value;
                if (bin->len == DN_ID_BYTES) {
                    s_name_id(dd, bin->data, bin->len, b);
                } else {
                    for (size_t j = 0; j < bin->len; j++)
                        s_add(b, "%02x", bin->data[j]);
                }
                break;
            }
            case PROTOBUF_C_TYPE_MESSAGE:
                s_dump_msg(dd, *(const ProtobufCMessage *const *)value, b);
                break;
            default:
                s_add(b, "?type%d", (int)f->type);
            }
        }
    }
    s_add(b, " }");
}

/*  Appends every row of a query, one line each; the column named "body" is
    decoded as an event.  Returns 0 or -1 (with a line in the buffer).  */
static int s_dump_query(s_dumper_t *d, const char *sql, s_buf_t *b)
{
    sqlite3 *db = d->db;
    sqlite3_stmt *stmt;
    int step;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        s_add(b, "!prepare %s: %s\n", sql, sqlite3_errmsg(db));
        return -1;
    }
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(stmt); c++) {
            if (c)
                s_add(b, "|");
            if (strcmp(sqlite3_column_name(stmt, c), "body") == 0) {
                Dealernet__Event *ev = NULL;
                char why[DN_WHY_SIZE];
                if (dn_wire_event_unpack(sqlite3_column_blob(stmt, c),
                                         (size_t)sqlite3_column_bytes(stmt, c), &ev, why,
                                         sizeof why) != 0) {
                    s_add(b, "!undecodable(%s)", why);
                    continue;
                }
                s_dump_msg(d, &ev->base, b);
                dn_wire_event_free(&ev);
            } else if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
                s_add(b, "-");
            } else {
                s_add(b, "%s", (const char *)sqlite3_column_text(stmt, c));
            }
        }
        s_add(b, "\n");
    }
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE) {
        s_add(b, "!step %s: %s\n", sql, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static const char *const s_agent_dump[] = {
    "SELECT key, value FROM meta ORDER BY key",
    "SELECT sku, price, category FROM catalog ORDER BY sku",
    "SELECT seq, kind, recorded_at_ms, synced, body FROM events ORDER BY seq",
    "SELECT seq, recorded_at_ms, total, refunded, member_phone, channel, seller "
    "FROM sales ORDER BY seq",
    "SELECT s.seq, l.line_no, l.sku, l.quantity, l.unit_price, l.category, "
    "l.refunded_qty "
    "FROM sale_lines l JOIN sales s ON s.id = l.sale_id ORDER BY 1, 2",
    "SELECT r.seq, s.seq, r.amount FROM refunds r LEFT JOIN sales s ON s.id = r.sale_id "
    "ORDER BY r.seq",
    "SELECT phone, name, referrer, household, seq, recorded_at_ms FROM members "
    "ORDER BY phone",
};

static const char *const s_central_dump[] = {
    "SELECT key, value FROM meta ORDER BY key",
    "SELECT code, applied_seq, gap_expected_seq, last_seen_ms, reported_pending "
    "FROM sites ORDER BY code",
    "SELECT s.code, e.seq, e.kind, e.recorded_at_ms, e.received_ms, "
    "e.signature IS NOT NULL, e.body FROM events e JOIN sites s ON s.id = e.site_id "
    "ORDER BY e.eid",
    "SELECT e.seq, x.recorded_at_ms, x.total, x.refunded, x.currency, x.channel, "
    "x.seller, "
    "x.member_phone FROM sales x JOIN events e ON e.eid = x.eid ORDER BY x.eid",
    "SELECT e.seq, l.line_no, l.sku, l.quantity, l.unit_price, l.category, "
    "l.refunded_qty "
    "FROM sale_lines l JOIN events e ON e.eid = l.sale_eid ORDER BY 1, 2",
    "SELECT e.seq, s.seq, r.amount FROM refunds r JOIN events e ON e.eid = r.eid "
    "JOIN events s ON s.eid = r.sale_eid ORDER BY r.eid",
    "SELECT m.phone, e.seq, m.name, m.referrer_phone, m.referrer_partner, m.household, "
    "m.signed_up_ms FROM members m JOIN events e ON e.eid = m.signup_eid ORDER BY "
    "m.phone",
    "SELECT e.seq, m.phone, c.referrer, c.recorded_at_ms FROM member_conflicts c "
    "JOIN events e ON e.eid = c.eid JOIN members m ON m.id = c.member ORDER BY c.eid",
    "SELECT name, kind, balance FROM accounts ORDER BY name",
    "SELECT t.id, d.name, c.name, t.amount, t.code, se.seq, sa.seq, t.reverses, t.level, "
    "t.rate_bps, t.category, t.bonus, t.period, t.event_period, t.ref, t.created_ms "
    "FROM transfers t JOIN accounts d ON d.id = t.debit JOIN accounts c ON c.id = "
    "t.credit "
    "LEFT JOIN events se ON se.eid = t.source_eid LEFT JOIN events sa ON sa.eid = "
    "t.sale_eid "
    "ORDER BY t.id",
    "SELECT p.code, v.period, v.currency, v.sales, v.total, v.refunds, v.refunded "
    "FROM team_volume v JOIN partners p ON p.id = v.partner_id ORDER BY 1, 2, 3",
    "SELECT s.seq, r.seq, c.category, c.amount FROM refund_categories c "
    "JOIN events s ON s.eid = c.sale_eid JOIN events r ON r.eid = c.refund_eid "
    "ORDER BY 1, 2, 3",
    "SELECT period, closed_ms, closed_by FROM periods ORDER BY period",
};

/*  Opens a file for checking, on its own connection, without creating it.  */
static sqlite3 *s_open_check(const char *path)
{
    sqlite3 *db = NULL;
    if (access(path, F_OK) != 0)
        return NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, DN_DB_BUSY_TIMEOUT_MS);
    return db;
}

/*  The canonical state of an open file, in a new string; NULL when out of
    memory.  Caller frees.  */
static char *s_dump(sqlite3 *db, int central)
{
    s_dumper_t d = {db, central, NULL};
    s_buf_t b = {0};
    const char *const *sql = central ? s_central_dump : s_agent_dump;
    size_t n = central ? sizeof s_central_dump / sizeof *s_central_dump
                       : sizeof s_agent_dump / sizeof *s_agent_dump;
    dn_db_exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++)
        s_dump_query(&d, sql[i], &b);
    dn_db_exec(db, "COMMIT");
    sqlite3_finalize(d.names);
    if (b.oom) {
        s_buf_free(&b);
        return NULL;
    }
    if (!b.p)
        s_add(&b, "%s", "");
    return b.p;
}

/* -- consistency: integrity, atomicity, chains, ledger ------------------------------ */

/*  Runs a query whose one value counts violations; -1 if it cannot run.  */
static long s_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/*  Each agent event with exactly its projection, refunds adding up, the
    acknowledged events a prefix, the settings all there.  */
static const char *const s_agent_rules[] = {
    "SELECT count(*) FROM events e WHERE (e.kind = 'sale') != "
    "EXISTS (SELECT 1 FROM sales s WHERE s.seq = e.seq)",
    "SELECT count(*) FROM events e WHERE (e.kind = 'refund') != "
    "EXISTS (SELECT 1 FROM refunds r WHERE r.seq = e.seq)",
    "SELECT count(*) FROM events e WHERE (e.kind = 'member_signup') != "
    "EXISTS (SELECT 1 FROM members m WHERE m.seq = e.seq)",
    "SELECT (SELECT count(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM events e "
    "  WHERE e.seq = s.seq AND e.kind = 'sale')) + "
    "(SELECT count(*) FROM refunds r WHERE NOT EXISTS (SELECT 1 FROM events e "
    "  WHERE e.seq = r.seq AND e.kind = 'refund')) + "
    "(SELECT count(*) FROM members m WHERE NOT EXISTS (SELECT 1 FROM events e "
    "  WHERE e.seq = m.seq AND e.kind = 'member_signup'))",
    "SELECT count(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM sale_lines l "
    "WHERE l.sale_id = s.id) OR s.refunded != (SELECT coalesce(sum(amount), 0) "
    "FROM refunds r WHERE r.sale_id = s.id)",
    "SELECT count(*) FROM events a JOIN events b ON b.seq > a.seq "
    "WHERE a.synced = 0 AND b.synced = 1",
    "SELECT 3 - count(*) FROM meta WHERE key IN ('site', 'partner', 'currency')",
};

/*  Each central event with exactly its rows, a site's applied seq its
    count of events.  */
static const char *const s_central_rules[] = {
    "SELECT count(*) FROM events e WHERE (e.kind = 'sale') != "
    "EXISTS (SELECT 1 FROM sales s WHERE s.eid = e.eid)",
    "SELECT count(*) FROM events e WHERE (e.kind = 'refund') != "
    "EXISTS (SELECT 1 FROM refunds r WHERE r.eid = e.eid)",
    "SELECT count(*) FROM events e WHERE (e.kind = 'member_signup') != "
    "(EXISTS (SELECT 1 FROM members m WHERE m.signup_eid = e.eid) OR "
    " EXISTS (SELECT 1 FROM member_conflicts c WHERE c.eid = e.eid))",
    "SELECT count(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM sale_lines l "
    "WHERE l.sale_eid = s.eid) OR s.refunded != (SELECT coalesce(sum(amount), 0) "
    "FROM refunds r WHERE r.sale_eid = s.eid)",
    "SELECT count(*) FROM sites s WHERE s.applied_seq != (SELECT count(*) FROM events e "
    "WHERE e.site_id = s.id) OR s.applied_seq != (SELECT coalesce(max(seq), 0) "
    "FROM events e WHERE e.site_id = s.id)",
};

/*  States known to be whole: the reference's at every step and at every
    operation of the sync session.  A file found in one of them needs no
    rule checked again (the reference passed them all).  */
#define MAX_KNOWN 32
static char *s_known[2][MAX_KNOWN];
static int s_n_known[2];

static int s_is_known(int central, const char *dump)
{
    for (int i = 0; dump && i < s_n_known[central]; i++)
        if (strcmp(s_known[central][i], dump) == 0)
            return 1;
    return 0;
}

static void s_add_known(int central, const char *dump)
{
    if (dump && !s_is_known(central, dump) && s_n_known[central] < MAX_KNOWN)
        s_known[central][s_n_known[central]++] = strdup(dump);
}

/*  What a look found beyond problems.  */
typedef struct {
    char *dump[2];    /* canonical states (NULL: no file), caller frees */
    long agent_acked; /* highest seq marked synced, -1: not looked at */
    long agent_head;
    long applied; /* the site's applied seq on the server, -1: not looked at */
} s_look_t;

/*  Checking depth.  */
typedef enum {
    LOOK_LIGHT, /* integrity and state; the rules only for an unknown state */
    LOOK_CHAIN, /* ... and the hash chains (outbox check, ledger verify) */
    LOOK_FULL   /* everything, whatever the state */
} s_depth_t;

static void s_look_agent(const char *when, s_depth_t depth, s_look_t *look)
{
    sqlite3 *db = s_open_check(W.agent_db);
    if (!db)
        return;
    if (dn_db_integrity_check(db) != 0)
        s_problem(&R.integrity, "%s: agent.db fails integrity_check", when);
    look->dump[0] = s_dump(db, 0);
    look->agent_acked =
        s_count(db, "SELECT coalesce(max(seq), 0) FROM events WHERE synced");
    look->agent_head = s_count(db, "SELECT coalesce(max(seq), 0) FROM events");
    if (depth == LOOK_FULL || !s_is_known(0, look->dump[0]))
        for (size_t i = 0; i < sizeof s_agent_rules / sizeof *s_agent_rules; i++) {
            long n = s_count(db, s_agent_rules[i]);
            if (n != 0)
                s_problem(&R.half, "%s: agent.db breaks rule %zu (%ld): %.90s", when, i,
                          n, s_agent_rules[i]);
        }
    sqlite3_close(db);
    if (depth == LOOK_LIGHT && s_is_known(0, look->dump[0]))
        return;
    /* The chain, through the agent's own reader.  */
    int err = 0;
    dn_store_t *store = dn_store_open(W.dir, &err);
    if (!store) {
        s_problem(&R.half, "%s: agent.db does not open: %s", when, dn_strerror(err));
        return;
    }
    dn_outbox_check_t check;
    if (dn_outbox_check(store, &check) != 0)
        s_problem(&R.half, "%s: agent chain broken at seq %lld: %s", when,
                  (long long)check.bad_seq, check.why);
    dn_store_destroy(&store);
}

static void s_look_central(const char *when, s_depth_t depth, s_look_t *look)
{
    sqlite3 *db = s_open_check(W.central_db);
    if (!db)
        return;
    if (dn_db_integrity_check(db) != 0)
        s_problem(&R.integrity, "%s: central.db fails integrity_check", when);
    look->dump[1] = s_dump(db, 1);
    look->applied = s_count(db, "SELECT applied_seq FROM sites WHERE code = '" SITE "'");
    int whole = look->applied == 0;
    for (int i = 0; i < N_BATCHES; i++)
        whole |= look->applied == (long)s_batch_end[i];
    if (!whole)
        s_problem(&R.half, "%s: central.db applied seq %ld is not a batch's end", when,
                  look->applied);
    if (depth == LOOK_FULL || !s_is_known(1, look->dump[1])) {
        for (size_t i = 0; i < sizeof s_central_rules / sizeof *s_central_rules; i++) {
            long n = s_count(db, s_central_rules[i]);
            if (n != 0)
                s_problem(&R.half, "%s: central.db breaks rule %zu (%ld): %.90s", when, i,
                          n, s_central_rules[i]);
        }
        /* The rollups equal what a rebuild from the stored events gives.  */
        long diff = -1;
        if (dn_db_exec(db, "BEGIN IMMEDIATE") == 0) {
            if (dn_db_exec(db, "CREATE TEMP TABLE was_tv AS SELECT * FROM team_volume;"
                               "CREATE TEMP TABLE was_rc AS SELECT * FROM "
                               "refund_categories;") == 0 &&
                dn_rollup_rebuild(db) == 0)
                diff =
                    s_count(db, "SELECT (SELECT count(*) FROM (SELECT * FROM team_volume "
                                "  EXCEPT SELECT * FROM was_tv)) + "
                                "(SELECT count(*) FROM (SELECT * FROM was_tv "
                                "  EXCEPT SELECT * FROM team_volume)) + "
                                "(SELECT count(*) FROM (SELECT * FROM refund_categories "
                                "  EXCEPT SELECT * FROM was_rc)) + "
                                "(SELECT count(*) FROM (SELECT * FROM was_rc "
                                "  EXCEPT SELECT * FROM refund_categories))");
            dn_db_rollback(db);
        }
        if (diff != 0)
            s_problem(&R.half, "%s: central.db rollups differ from a rebuild (%ld rows)",
                      when, diff);
    }
    sqlite3_close(db);
    if (depth == LOOK_LIGHT && s_is_known(1, look->dump[1]))
        return;
    /* Events, transfers, balances, every commission recomputed.  */
    json_t *verdict = NULL;
    int rc = dn_verify_run(W.central_db, &verdict, NULL, 0);
    if (rc != 0) {
        json_t *first =
            verdict ? json_array_get(json_object_get(verdict, "differences"), 0) : NULL;
        s_problem(&R.half, "%s: ledger verify: %s%s%s", when, dn_strerror(rc),
                  first ? ": " : "", first ? json_string_value(first) : "");
    }
    json_decref(verdict);
}

#define LOOK_AGENT   1
#define LOOK_CENTRAL 2

/*  Looks at the files named in which, each on its own connection, and at
    what holds between them: the agent never holds as acknowledged what the
    server has not applied, nor the server more than the agent logged.
    Problems are counted into R; free look with s_look_free.  */
static void s_look(const char *when, int which, s_depth_t depth, s_look_t *look)
{
    memset(look, 0, sizeof *look);
    look->agent_acked = look->agent_head = look->applied = -1;
    if (which & LOOK_AGENT)
        s_look_agent(when, depth, look);
    if (which & LOOK_CENTRAL)
        s_look_central(when, depth, look);
    if (look->applied >= 0 && look->agent_acked > look->applied)
        s_problem(&R.lost, "%s: agent holds seq %ld as acknowledged, server applied %ld",
                  when, look->agent_acked, look->applied);
    if (look->applied > 0 && look->agent_head >= 0 && look->applied > look->agent_head)
        s_problem(&R.half, "%s: server applied seq %ld, agent logged only %ld", when,
                  look->applied, look->agent_head);
}

static void s_look_free(s_look_t *look)
{
    free(look->dump[0]);
    free(look->dump[1]);
    look->dump[0] = look->dump[1] = NULL;
}

/* -- the scenario's steps ---------------------------------------------------------- */

/*  A step arms the fault (s_go) where its faults begin: at its start, or
    after a prologue that opens files (a command's open is a step of its
    own; its close stays under the fault).  */
static void s_go(void)
{
    if (s_fault.target >= 0)
        s_fault.armed = 1;
}

typedef struct {
    const char *name;
    int (*run)(void); /* 0, or the error the step met */
    int files;        /* LOOK_AGENT | LOOK_CENTRAL: what it may change */
} s_step_t;

/*  Opens the store as a command would, or returns the error.  */
static int s_store(dn_store_t **store)
{
    int err = 0;
    *store = dn_store_open(W.dir, &err);
    return *store ? 0 : err;
}

static int s_step_init(void)
{
    s_go();
    return dn_store_create(W.dir, SITE, "RS1", "CNY");
}

/*  A command that opens agent.db and does nothing: the open and close.  */
static int s_step_open(void)
{
    dn_store_t *store;
    int rc;
    s_go();
    rc = s_store(&store);
    dn_store_destroy(&store);
    return rc;
}

static int s_step_catalog_rice(void)
{
    dn_store_t *store;
    int rc = s_store(&store);
    s_go();
    if (rc == 0)
        rc = dn_store_catalog_set(store, "RICE5", 670, "rice");
    dn_store_destroy(&store);
    return rc;
}

static int s_step_catalog_oil(void)
{
    dn_store_t *store;
    int rc = s_store(&store);
    s_go();
    if (rc == 0)
        rc = dn_store_catalog_set(store, "OIL", 415, NULL);
    dn_store_destroy(&store);
    return rc;
}

static int s_member(const char *phone, const char *name, const char *referrer,
                    int64_t household)
{
    dn_member_input_t in = {phone, name, referrer, 1, household};
    dn_record_result_t out;
    char why[256] = "";
    dn_store_t *store;
    int rc = s_store(&store);
    s_go();
    if (rc == 0)
        rc = dn_record_member_add(store, &in, &out, why, sizeof why);
    if (rc && W.verbose)
        fprintf(stderr, "  member add: %s: %s\n", dn_strerror(rc), why);
    dn_store_destroy(&store);
    return rc;
}

static int s_step_member_a(void)
{
    return s_member(PHONE_A, "Li Na", "RS1", 3);
}

static int s_step_member_b(void)
{
    return s_member(PHONE_B, "Wang Fang", PHONE_A, 2);
}

static int s_sale(const dn_record_line_t *lines, size_t n, const char *member,
                  const char *channel)
{
    dn_sale_input_t in = {lines, n, member, channel, NULL, NULL};
    dn_record_result_t out;
    char why[256] = "";
    dn_store_t *store;
    int rc = s_store(&store);
    s_go();
    if (rc == 0)
        rc = dn_record_sale(store, &in, &out, why, sizeof why);
    if (rc && W.verbose)
        fprintf(stderr, "  sale: %s: %s\n", dn_strerror(rc), why);
    dn_store_destroy(&store);
    return rc;
}

/*  Sale 1: to member A, catalog prices (rice and oil).  */
static int s_step_sale1(void)
{
    const dn_record_line_t lines[] = {{"RICE5", 3, 0, 0, "", 0}, {"OIL", 2, 0, 0, "", 0}};
    return s_sale(lines, 2, PHONE_A, NULL);
}

/*  Sale 2: a community group buy at a price given at the till (the
    catalog's category still applies).  */
static int s_step_sale2(void)
{
    const dn_record_line_t lines[] = {{"RICE5", 2, 1, 650, "", 0}};
    return s_sale(lines, 1, NULL, "community");
}

/*  Sale 3: online, to member B (referred by A).  */
static int s_step_sale3(void)
{
    const dn_record_line_t lines[] = {{"RICE5", 1, 0, 0, "", 0}, {"OIL", 1, 0, 0, "", 0}};
    return s_sale(lines, 2, PHONE_B, "online");
}

/*  Refund of one oil of sale 1 (event seq 2).  */
static int s_step_refund(void)
{
    dn_refund_input_t in;
    const dn_record_line_t line = {"OIL", 1, 0, 0, "", 0};
    dn_record_result_t out;
    char why[256] = "";
    dn_store_t *store;
    sqlite3_stmt *stmt;
    int rc = s_store(&store);

    memset(&in, 0, sizeof in);
    in.lines = &line;
    in.n_lines = 1;
    /* The clerk reads the sale's id off the receipt.  */
    if (rc == 0) {
        rc = DN_EDB;
        if (sqlite3_prepare_v2(dn_store_db(store), "SELECT id FROM sales WHERE seq = 2",
                               -1, &stmt, NULL) == SQLITE_OK) {
            if (sqlite3_step(stmt) == SQLITE_ROW &&
                sqlite3_column_bytes(stmt, 0) == DN_ID_BYTES) {
                memcpy(in.sale_id, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
                rc = 0;
            }
            sqlite3_finalize(stmt);
        }
    }
    s_go();
    if (rc == 0)
        rc = dn_record_refund(store, &in, &out, why, sizeof why);
    if (rc && W.verbose)
        fprintf(stderr, "  refund: %s: %s\n", dn_strerror(rc), why);
    dn_store_destroy(&store);
    return rc;
}

static int s_step_member_update(void)
{
    dn_member_input_t in = {PHONE_B, NULL, NULL, 1, 4};
    dn_record_result_t out;
    char why[256] = "";
    dn_store_t *store;
    int rc = s_store(&store);
    s_go();
    if (rc == 0)
        rc = dn_record_member_update(store, &in, &out, why, sizeof why);
    if (rc && W.verbose)
        fprintf(stderr, "  member update: %s: %s\n", dn_strerror(rc), why);
    dn_store_destroy(&store);
    return rc;
}

/*  The server starting: central.db opened (migrations checked, the
    rollups' rebuild flag read), the site looked up, the ingester made;
    then stopped.  */
static int s_step_server_start(void)
{
    sqlite3 *db = NULL;
    dn_ingest_t *ingest = NULL;
    dn_registry_site_t site;
    int rc;
    s_go();
    rc = dn_central_open(W.dir, 0, &db);
    if (rc == 0)
        rc = dn_rollup_complete(db);
    if (rc == 0 && (rc = dn_registry_site_get(db, SITE, &site)) == 0 &&
        !(ingest = dn_ingest_new(db)))
        rc = DN_ENOMEM;
    dn_ingest_destroy(&ingest);
    if (db)
        sqlite3_close(db);
    return rc;
}

/* -- the sync session -------------------------------------------------------------- */

/*  A batch as the agent sends it.  */
typedef struct {
    dn_outbox_batch_t events;
    uint8_t sig[DN_SIG_BYTES];
    Dealernet__PushBatch push;
} s_push_t;

/*  Reads and signs the batch that holds seq from, as dn_syncsm does.  */
static int s_push_read(dn_store_t *store, const dn_key_t *key, uint64_t from, s_push_t *p)
{
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX];
    uint64_t last = 0;
    int rc;

    memset(p, 0, sizeof *p);
    for (int i = 0; i < N_BATCHES && !last; i++)
        if (s_batch_end[i] >= from)
            last = s_batch_end[i];
    rc = dn_outbox_read(store, from, (size_t)(last - from + 1), DN_MAX_BATCH_BYTES,
                        &p->events);
    if (rc)
        return rc;
    if (p->events.n == 0) {
        dn_outbox_batch_free(&p->events);
        return DN_ECHAIN;
    }
    size_t n =
        dn_wire_batch_signed(SITE, p->events.last_seq, p->events.head, signed_bytes);
    rc = dn_key_sign(key, signed_bytes, n, p->sig);
    if (rc) {
        dn_outbox_batch_free(&p->events);
        return rc;
    }
    dealernet__push_batch__init(&p->push);
    p->push.has_first_seq = 1;
    p->push.first_seq = p->events.first_seq;
    p->push.n_events = p->events.n;
    p->push.events = p->events.events;
    p->push.has_chain_head = 1;
    p->push.chain_head.data = p->events.head;
    p->push.chain_head.len = DN_HASH_BYTES;
    p->push.has_signature = 1;
    p->push.signature.data = p->sig;
    p->push.signature.len = DN_SIG_BYTES;
    return 0;
}

/*  What the server answered one push.  */
typedef struct {
    int acked; /* 1: an ack (after the commit), 0: a refusal */
    uint64_t through;
    Dealernet__RefuseCode code;
    int rc; /* dn_ingest_batch's */
} s_reply_t;

/*  Applies pushes[0..n) in one group transaction as dn_server.c's
    s_on_push and s_flush do, through the same calls (dn_ingest_push per
    batch, dn_ingest_group_end); if the group does not commit, every ack
    becomes an internal refusal.  */
static void s_serve(dn_ingest_t *ingest, const dn_registry_site_t *site, s_push_t *pushes,
                    size_t n, s_reply_t *replies)
{
    dn_ingest_group_begin(ingest); /* a failure shows in every push */
    for (size_t i = 0; i < n; i++) {
        s_reply_t *r = &replies[i];
        dn_ingest_result_t result;
        memset(r, 0, sizeof *r);
        r->code = DEALERNET__REFUSE_CODE__REFUSE_INTERNAL;
        /* The server's clock, a function of the batch: a batch sent again
           after a fault is stored as the reference stored it.  */
        int64_t now_ms = SYNC_MS + (int64_t)pushes[i].push.first_seq * 1000;
        r->rc = dn_ingest_push(ingest, site, &pushes[i].push, now_ms, &result);
        if (r->rc == DN_EPROTO) {
            r->code = result.code;
            if (result.code == DEALERNET__REFUSE_CODE__REFUSE_GAP)
                dn_ingest_note_gap(ingest, site->id, result.expected_seq);
        } else if (r->rc == 0) {
            r->acked = 1;
            r->through = result.acked_through;
        }
    }
    if (dn_ingest_group_end(ingest, 1) != 0) {
        for (size_t i = 0; i < n; i++) {
            replies[i].acked = 0;
            replies[i].code = DEALERNET__REFUSE_CODE__REFUSE_INTERNAL;
        }
    }
}

/*  The reference run records the states between the session's
    operations as known-good.  */
static int s_recording;

static void s_record_known(void)
{
    s_look_t look;
    s_look("reference", LOOK_AGENT | LOOK_CENTRAL, LOOK_FULL, &look);
    s_add_known(0, look.dump[0]);
    s_add_known(1, look.dump[1]);
    s_look_free(&look);
}

/*  After an operation of the session that met the fault: how it was
    reported, and the files as they are, read on their own connections
    while the session goes on.  */
static void s_after_fault(const char *op, int failed, int permanent)
{
    s_look_t look;
    if (failed)
        R.surfaced++;
    else
        R.absorbed++;
    if (permanent)
        s_problem(&R.misreport, "%s: a transient fault reported as a permanent refusal",
                  op);
    s_look(op, LOOK_AGENT | LOOK_CENTRAL, LOOK_LIGHT, &look);
    s_look_free(&look);
}

/*  Whether the fault was met since the last call.  */
static int s_just_fired(int *seen)
{
    if (s_fault.fired && !*seen) {
        *seen = 1;
        return 1;
    }
    return 0;
}

/*  The sync session: central.db open with its ingester for the whole
    session (its caches live across batches, as in the daemon); the agent
    reads, signs and sends batch 1 alone, then batches 2 and 3 and batch 1
    again in one group, and marks what was acknowledged.  What was refused
    is sent again, from the agent's own last ack, as dn_syncsm does.  */
static int s_step_sync(void)
{
    dn_store_t *store = NULL;
    dn_key_t *key = NULL;
    sqlite3 *db = NULL;
    dn_ingest_t *ingest = NULL;
    dn_registry_site_t site;
    int rc, seen = s_fault.fired;

    rc = dn_central_open(W.dir, 0, &db);
    if (rc == 0 && (rc = dn_registry_site_get(db, SITE, &site)) == 0 &&
        !(ingest = dn_ingest_new(db)))
        rc = DN_ENOMEM;
    if (rc == 0)
        rc = s_store(&store);
    if (rc == 0 && !(key = dn_key_from_seed(s_seed)))
        rc = DN_ECRYPTO;
    s_go();
    for (int round = 0; rc == 0 && round < 6; round++) {
        s_push_t pushes[N_BATCHES + 1];
        s_reply_t replies[N_BATCHES + 1];
        dn_outbox_position_t pos;
        size_t n = 0;
        int failed = 0, permanent = 0;
        uint64_t through = 0;

        rc = dn_outbox_position(store, &pos);
        if (rc) {
            if (s_just_fired(&seen))
                s_after_fault("sync: agent reads its position", 1, !s_transient(rc));
            rc = 0;
            continue;
        }
        if (pos.acked_seq >= pos.head_seq)
            break;
        /* Round 0: batch 1 alone.  Round 1: the rest, batch by batch, and
           batch 1 again.  Later rounds: what is left, batch by batch.  */
        for (uint64_t from = pos.acked_seq + 1; rc == 0 && from <= pos.head_seq;) {
            rc = s_push_read(store, key, from, &pushes[n]);
            if (rc == 0)
                from = pushes[n++].events.last_seq + 1;
            if (round == 0)
                break;
        }
        if (rc == 0 && round == 1 && pos.acked_seq >= s_batch_end[0])
            rc = s_push_read(store, key, 1, &pushes[n++]);
        if (rc) {
            if (s_just_fired(&seen))
                s_after_fault("sync: agent reads a batch", 1, !s_transient(rc));
            rc = 0;
        } else {
            s_serve(ingest, &site, pushes, n, replies);
            for (size_t i = 0; i < n; i++) {
                if (replies[i].acked) {
                    if (replies[i].through > through)
                        through = replies[i].through;
                    continue;
                }
                failed = 1;
                /* A gap behind a batch refused before it in the group is the
                   server's right answer; anything else but "internal" would
                   send the agent away for good.  */
                if (replies[i].code != DEALERNET__REFUSE_CODE__REFUSE_INTERNAL &&
                    replies[i].code != DEALERNET__REFUSE_CODE__REFUSE_GAP)
                    permanent = 1;
                if (W.verbose)
                    fprintf(stderr, "  batch from %llu refused: code %d (%s)\n",
                            (unsigned long long)pushes[i].push.first_seq, replies[i].code,
                            dn_strerror(replies[i].rc));
            }
            if (s_just_fired(&seen))
                s_after_fault("sync: server applies a group", failed, permanent);
            if (s_recording)
                s_record_known();
            if (through > 0) {
                int ack = dn_outbox_ack(store, through);
                if (s_just_fired(&seen))
                    s_after_fault("sync: agent marks the ack", ack != 0, 0);
                if (s_recording)
                    s_record_known();
            }
        }
        for (size_t i = 0; i < n; i++)
            dn_outbox_batch_free(&pushes[i].events);
    }
    if (rc == 0) {
        dn_outbox_position_t pos;
        rc = dn_outbox_position(store, &pos);
        if (rc == 0 && pos.acked_seq < pos.head_seq)
            rc = DN_EAGAIN;
    }
    dn_key_destroy(&key);
    dn_store_destroy(&store);
    dn_ingest_destroy(&ingest);
    if (db)
        sqlite3_close(db);
    if (s_just_fired(&seen)) /* met while closing, or by an operation that hid it */
        s_after_fault("sync: close", rc != 0, 0);
    return rc;
}

#define BOTH (LOOK_AGENT | LOOK_CENTRAL)

static const s_step_t s_steps[] = {
    {"agent init", s_step_init, LOOK_AGENT},
    {"agent open and close", s_step_open, LOOK_AGENT},
    {"catalog RICE5", s_step_catalog_rice, LOOK_AGENT},
    {"catalog OIL", s_step_catalog_oil, LOOK_AGENT},
    {"member A signs up", s_step_member_a, LOOK_AGENT},
    {"sale 1 (member A)", s_step_sale1, LOOK_AGENT},
    {"sale 2 (community)", s_step_sale2, LOOK_AGENT},
    {"refund of sale 1", s_step_refund, LOOK_AGENT},
    {"member B signs up", s_step_member_b, LOOK_AGENT},
    {"sale 3 (member B)", s_step_sale3, LOOK_AGENT},
    {"member B update", s_step_member_update, LOOK_AGENT},
    {"server start and stop", s_step_server_start, LOOK_CENTRAL},
    {"sync session", s_step_sync, BOTH},
};

#define N_STEPS   (sizeof s_steps / sizeof *s_steps)
#define SYNC_STEP (N_STEPS - 1)

/*  Runs step i with the fault of kind failing point target (0: counting
    only, -1: no fault).  Returns the step's result.  */
static int s_run_step(size_t i, s_kind_t kind, long target)
{
    int rc;
    W.clock_ms = EVENT_MS + (int64_t)i * 60000;
    s_fault.kind = kind;
    s_fault.count = 0;
    s_fault.target = target;
    s_fault.fired = 0;
    s_fault.armed = 0;
    rc = s_steps[i].run();
    s_fault.armed = 0;
    return rc;
}

/* -- files: the base folder, snapshots ----------------------------------------------- */

static char s_base[256];

static void s_snap_dir(size_t step, char *out, size_t size)
{
    snprintf(out, size, "%s/snap-%02zu", s_base, step);
}

/*  Removes every file of a folder (not the folder).  */
static void s_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static int s_copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out, rc = 0;
    if (in < 0)
        return errno == ENOENT ? 0 : -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    if (n < 0)
        rc = -1;
    close(in);
    close(out);
    return rc;
}

/*  Copies agent.db and central.db (closed: no WAL) between folders.  */
static int s_copy_dbs(const char *from, const char *to)
{
    static const char *const files[] = {DN_AGENT_DB_FILE, DN_CENTRAL_DB_FILE};
    char a[600], b[600];
    s_empty(to);
    for (size_t i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", from, files[i]);
        snprintf(b, sizeof b, "%s/%s", to, files[i]);
        if (s_copy_file(a, b))
            return -1;
    }
    return 0;
}

/*  Points the world at folder dir (created if missing).  */
static int s_world_at(const char *dir)
{
    snprintf(W.dir, sizeof W.dir, "%s", dir);
    snprintf(W.agent_db, sizeof W.agent_db, "%s/%s", W.dir, DN_AGENT_DB_FILE);
    snprintf(W.central_db, sizeof W.central_db, "%s/%s", W.dir, DN_CENTRAL_DB_FILE);
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

#define MAX_JOBS 8

static void s_remove_tree(void)
{
    char dir[300];
    for (int j = 0; j < MAX_JOBS; j++) {
        snprintf(dir, sizeof dir, "%s/run-%d", s_base, j);
        s_empty(dir);
        rmdir(dir);
    }
    for (size_t i = 0; i <= N_STEPS; i++) {
        s_snap_dir(i, dir, sizeof dir);
        s_empty(dir);
        rmdir(dir);
    }
    rmdir(s_base);
}

/*  central.db as HQ would have made it: the tree, the plan, the site,
    enrolled with the key of s_seed.  */
static int s_central_setup(void)
{
    static const struct {
        const char *code, *kind, *parent, *recruiter;
    } partners[] = {
        {"HQ", "hq", NULL, NULL},           {"R1", "region", "HQ", NULL},
        {"DI1", "distributor", "R1", NULL}, {"DE1", "dealer", "DI1", NULL},
        {"RS1", "reseller", "DE1", NULL},   {"RS2", "reseller", "DE1", "RS1"}};
    char why[256] = "", token[DN_TOKEN_TEXT_LEN + 1];
    uint8_t curve[DN_CURVE_KEY_BYTES], pub[DN_PUBKEY_BYTES];
    dn_registry_site_t site;
    dn_plan_t plan;
    int64_t expires = 0;
    dn_key_t *key = dn_key_from_seed(s_seed);
    sqlite3 *db = NULL;
    int rc = key ? dn_central_open(W.dir, DN_DB_CREATE, &db) : DN_ECRYPTO;

    for (size_t i = 0; rc == 0 && i < sizeof partners / sizeof *partners; i++)
        rc = dn_registry_partner_add_recruited(
            db, partners[i].code, partners[i].code, partners[i].kind, partners[i].parent,
            partners[i].recruiter, SETUP_MS, SETUP_MS, why, sizeof why);
    if (rc == 0)
        rc = dn_plan_set(db, s_plan, SETUP_MS, &plan, why, sizeof why);
    if (rc == 0)
        rc = dn_registry_site_add(db, SITE, "RS1", SETUP_MS, token, &expires, why,
                                  sizeof why);
    for (size_t i = 0; i < sizeof curve; i++)
        curve[i] = (uint8_t)(0x40 + i);
    if (rc == 0)
        rc = dn_key_public(key, pub);
    if (rc == 0)
        rc = dn_registry_enroll(db, token, SITE, curve, pub, SETUP_MS + 1000, &site, why,
                                sizeof why);
    if (rc)
        fprintf(stderr, "dn_iosweep: central.db setup: %s: %s\n", dn_strerror(rc), why);
    if (db)
        sqlite3_close(db);
    dn_key_destroy(&key);
    return rc;
}

/* -- the reference run --------------------------------------------------------------- */

static char *s_ref[2][N_STEPS + 1]; /* each file's state before step i; [N_STEPS]: end */
static long s_points[K_COUNT][N_STEPS];

/*  Runs the scenario without faults, snapshots the files before each step,
    records the states, and counts each step's points of each kind.  */
static int s_reference(void)
{
    char snap[300];
    for (size_t i = 0; i <= N_STEPS; i++) {
        s_look_t look;
        int rc;
        s_snap_dir(i, snap, sizeof snap);
        if (mkdir(snap, 0700) != 0 || s_copy_dbs(W.dir, snap) != 0) {
            fprintf(stderr, "dn_iosweep: cannot snapshot into %s\n", snap);
            return -1;
        }
        memset(&R, 0, sizeof R);
        s_look("reference", BOTH, LOOK_FULL, &look);
        s_ref[0][i] = look.dump[0] ? strdup(look.dump[0]) : NULL;
        s_ref[1][i] = look.dump[1] ? strdup(look.dump[1]) : NULL;
        s_add_known(0, look.dump[0]);
        s_add_known(1, look.dump[1]);
        s_look_free(&look);
        if (R.half || R.integrity || R.lost || !s_ref[1][i] || (i > 0 && !s_ref[0][i])) {
            fprintf(stderr,
                    "dn_iosweep: the reference fails its own checks before %s: %s\n",
                    i < N_STEPS ? s_steps[i].name : "the end", R.what);
            return -1;
        }
        if (i == N_STEPS)
            break;
        for (int k = 0; k < K_COUNT; k++) {
            if (s_copy_dbs(snap, W.dir))
                return -1;
            s_recording = k == 0 && i == SYNC_STEP;
            rc = s_run_step(i, (s_kind_t)k, 0);
            s_recording = 0;
            s_points[k][i] = s_fault.count;
            if (rc) {
                fprintf(stderr, "dn_iosweep: reference step %s failed: %s\n",
                        s_steps[i].name, dn_strerror(rc));
                return -1;
            }
        }
    }
    return 0;
}

/* -- one run with a fault
 * ---------------------------------------------------------------- */

static int s_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/*  In a child: restores the files before step, fails point n of kind in
    it, checks, finishes the scenario clean (rest: all of it, else the
    step) and compares with the reference.  Fills R.  */
static void s_run(size_t step, s_kind_t kind, long n, int rest)
{
    char snap[300];
    int files = s_steps[step].files;
    s_look_t look;
    int rc;

    memset(&R, 0, sizeof R);
    s_snap_dir(step, snap, sizeof snap);
    if (s_copy_dbs(snap, W.dir) != 0) {
        s_problem(&R.retry_fail, "cannot restore %s", snap);
        R.complete = 1;
        return;
    }
    rc = s_run_step(step, kind, n);
    R.fired = s_fault.fired;
    if (!R.fired) {
        R.complete = 1;
        return;
    }

    /* Everything the step opened is closed: reopen and look.  */
    s_look("after the fault", files, LOOK_LIGHT, &look);
    int before = 1, after = 1;
    for (int f = 0; f < 2; f++)
        if (files & (f ? LOOK_CENTRAL : LOOK_AGENT)) {
            before &= s_same(look.dump[f], s_ref[f][step]);
            after &= s_same(look.dump[f], s_ref[f][step + 1]);
        }
    if (step != SYNC_STEP) {
        /* (The sync session judged each of its operations as it went.)  */
        if (rc) {
            R.surfaced++;
            if (!s_transient(rc))
                s_problem(&R.misreport, "%s: %s reported for a transient fault",
                          s_steps[step].name, dn_strerror(rc));
        } else {
            R.absorbed++;
        }
        if (rc == 0 && !after)
            s_problem(before ? &R.lost : &R.half,
                      "%s: reported success, but the files hold %s", s_steps[step].name,
                      before ? "the state of before"
                             : "neither the state of before nor that of after");
        else if (rc && after && !before)
            R.ambiguous++;
        else if (rc && !before)
            s_problem(&R.half,
                      "%s failed (%s), and the files hold neither the state of before "
                      "nor that of after",
                      s_steps[step].name, dn_strerror(rc));
        if (W.verbose && !before && !after)
            fprintf(stderr, "--- expected (after):\n%s\n%s--- got:\n%s\n%s",
                    s_ref[0][step + 1] ? s_ref[0][step + 1] : "",
                    s_ref[1][step + 1] ? s_ref[1][step + 1] : "",
                    look.dump[0] ? look.dump[0] : "", look.dump[1] ? look.dump[1] : "");
    }
    s_look_free(&look);

    /* The rest, clean: the failed step again (unless it took effect), then
       what follows it.  */
    size_t from = after && !before ? step + 1 : step;
    if (step == SYNC_STEP && rc == 0)
        from = step + 1;
    size_t end = rest ? N_STEPS : step + 1;
    for (size_t i = from; i < end; i++) {
        rc = s_run_step(i, kind, -1);
        if (rc) {
            s_problem(&R.retry_fail, "clean '%s' after the fault failed: %s",
                      s_steps[i].name, dn_strerror(rc));
            R.complete = 1;
            return;
        }
        files |= s_steps[i].files;
    }
    s_look("at the end", files, LOOK_CHAIN, &look);
    for (int f = 0; f < 2; f++)
        if ((files & (f ? LOOK_CENTRAL : LOOK_AGENT)) &&
            !s_same(look.dump[f], s_ref[f][end])) {
            s_problem(&R.mismatch, "%s differs from the reference %s",
                      f ? "central.db" : "agent.db",
                      end == N_STEPS ? "at the end" : "after the step");
            if (W.verbose)
                fprintf(stderr, "--- expected:\n%s--- got:\n%s\n",
                        s_ref[f][end] ? s_ref[f][end] : "",
                        look.dump[f] ? look.dump[f] : "");
        }
    s_look_free(&look);
    R.complete = 1;
}

/* -- the sweeps: faulted runs in child processes, a few at a time ------------------- */

typedef struct {
    pid_t pid;
    int fd;
    size_t step;
    long n;
} s_job_t;

static int s_jobs = 1;

/*  Starts a child that runs (step, n) in folder run-<slot>.  */
static int s_start(s_job_t *job, int slot, size_t step, s_kind_t kind, long n, int rest)
{
    char dir[300];
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    job->pid = fork();
    if (job->pid == 0) {
        close(fds[0]);
        snprintf(dir, sizeof dir, "%s/run-%d", s_base, slot);
        if (s_world_at(dir) == 0)
            s_run(step, kind, n, rest);
        ssize_t w = write(fds[1], &R, sizeof R);
        _exit(w == (ssize_t)sizeof R ? 0 : 2);
    }
    close(fds[1]);
    if (job->pid < 0) {
        close(fds[0]);
        return -1;
    }
    job->fd = fds[0];
    job->step = step;
    job->n = n;
    return 0;
}

/*  Waits for a job; fills its findings, *crashed when it did not finish.  */
static void s_finish(s_job_t *job, s_result_t *out, int *crashed)
{
    int status = 0;
    memset(out, 0, sizeof *out);
    ssize_t got = read(job->fd, out, sizeof *out);
    close(job->fd);
    while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
        ;
    *crashed = got != (ssize_t)sizeof *out || !out->complete || !WIFEXITED(status) ||
               WEXITSTATUS(status) != 0;
    if (*crashed) {
        if (WIFSIGNALED(status))
            snprintf(out->what, sizeof out->what, "the run died of %s",
                     strsignal(WTERMSIG(status)));
        else
            snprintf(out->what, sizeof out->what, "the run exited with %d%s",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     got == (ssize_t)sizeof *out ? "" : " before its end");
    }
}

typedef struct {
    long points, surfaced, absorbed, ambiguous, half, lost, integrity, mismatch,
        misreport, retry_fail, crashes;
} s_totals_t;

static long s_total_points(s_kind_t k)
{
    long n = 0;
    for (size_t i = 0; i < N_STEPS; i++)
        n += s_points[k][i];
    return n;
}

/*  One sweep: for each step, N = 1, 1 + stride, ... up to the first N past
    the points the reference counted, which must meet nothing (if it does,
    the sweep goes on past it); s_jobs runs at a time.  Prints its figure
    line; returns 1 if it found anything wrong.  */
static int s_sweep(s_kind_t kind, long stride, int rest)
{
    s_totals_t t;
    s_job_t jobs[MAX_JOBS];
    int busy[MAX_JOBS] = {0}, shown = 0, running = 0;
    size_t queued = 0, max_queue = 0;
    struct {
        size_t step;
        long n;
    } * queue;

    for (size_t i = 0; i < N_STEPS; i++)
        max_queue += (size_t)(s_points[kind][i] / stride + 2);
    max_queue += 64; /* room for runs past a count that was short */
    queue = calloc(max_queue, sizeof *queue);
    if (!queue)
        return 1;
    size_t n_queue = 0;
    for (size_t i = 0; i < N_STEPS; i++) {
        long n = 1;
        for (; n <= s_points[kind][i]; n += stride) {
            queue[n_queue].step = i;
            queue[n_queue++].n = n;
        }
        queue[n_queue].step = i; /* the run that must meet nothing */
        queue[n_queue++].n = n;
    }

    memset(&t, 0, sizeof t);
    while (queued < n_queue || running > 0) {
        while (running < s_jobs && queued < n_queue) {
            int slot = 0;
            while (busy[slot])
                slot++;
            if (s_start(&jobs[slot], slot, queue[queued].step, kind, queue[queued].n,
                        rest)) {
                fprintf(stderr, "dn_iosweep: cannot start a run: %s\n", strerror(errno));
                free(queue);
                return 1;
            }
            queued++;
            busy[slot] = 1;
            running++;
        }
        /* A run ends by writing its findings, or by closing its pipe.  */
        fd_set set;
        int maxfd = -1, slot = -1;
        FD_ZERO(&set);
        for (int j = 0; j < s_jobs; j++)
            if (busy[j]) {
                FD_SET(jobs[j].fd, &set);
                if (jobs[j].fd > maxfd)
                    maxfd = jobs[j].fd;
            }
        if (select(maxfd + 1, &set, NULL, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            free(queue);
            return 1;
        }
        for (int j = 0; j < s_jobs && slot < 0; j++)
            if (busy[j] && FD_ISSET(jobs[j].fd, &set))
                slot = j;
        if (slot < 0)
            continue;
        s_result_t r;
        int crashed;
        s_finish(&jobs[slot], &r, &crashed);
        busy[slot] = 0;
        running--;
        size_t step = jobs[slot].step;
        long n = jobs[slot].n;
        if (!crashed && !r.fired)
            continue; /* the end of the step's points */
        if (n > s_points[kind][step] && n < 100 * (s_points[kind][step] + 10) &&
            n_queue < max_queue) {
            queue[n_queue].step = step; /* the count was short: go on */
            queue[n_queue++].n = n + stride;
        }
        t.points++;
        t.surfaced += r.surfaced;
        t.absorbed += r.absorbed;
        t.ambiguous += r.ambiguous;
        t.half += r.half;
        t.lost += r.lost;
        t.integrity += r.integrity;
        t.mismatch += r.mismatch;
        t.misreport += r.misreport;
        t.retry_fail += r.retry_fail;
        t.crashes += crashed;
        if (r.what[0] && (W.verbose || shown < 8)) {
            shown++;
            fprintf(stderr, "iosweep: %s: step '%s', point %ld: %s\n", s_kind_name[kind],
                    s_steps[step].name, n, r.what);
        }
    }
    free(queue);
    printf("iosweep: %s: %ld points, errors surfaced %ld, absorbed %ld, applied despite "
           "error %ld, half-applied %ld, lost %ld, integrity failures %ld, final state "
           "mismatches %ld, misreported %ld, failed retries %ld, crashes %ld\n",
           s_kind_name[kind], t.points, t.surfaced, t.absorbed, t.ambiguous, t.half,
           t.lost, t.integrity, t.mismatch, t.misreport, t.retry_fail, t.crashes);
    if (kind == K_ALLOC)
        printf("iosweep: alloc: failed %s\n", DN_SWEEP_ALLOC_WHAT);
    fflush(stdout);
    /* trunc is optional: a scenario that never truncates has no points.  */
    return (t.points == 0 && kind != K_TRUNC) || t.half || t.lost || t.integrity ||
                   t.mismatch || t.misreport || t.retry_fail || t.crashes
               ? 1
               : 0;
}

/* -- main ------------------------------------------------------------------------------
 */

/*  Valgrind's preload replaces malloc in this program too.  */
static int s_under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload") != NULL;
}

static void s_usage(void)
{
    fprintf(stderr, "usage: dn_iosweep [--only write|full|sync|trunc|alloc] [--stride K] "
                    "[--alloc-stride K] "
                    "[--jobs J] [--rest] [--end-of-step] [--replay STEP POINT] [--keep] "
                    "[--verbose]\n");
    exit(64);
}

int main(int argc, char **argv)
{
    int only = -1, keep = 0, rest = -1, failed = 0;
    long stride = 1, alloc_stride = 0, one_step = -1, one_point = 0;
    const char *tmp = getenv("TMPDIR");
    struct timeval t0, t1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    s_jobs = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            i++;
            for (int k = 0; k < K_COUNT; k++)
                if (strcmp(argv[i], s_kind_arg[k]) == 0)
                    only = k;
            if (only < 0)
                s_usage();
        } else if (strcmp(argv[i], "--stride") == 0 && i + 1 < argc) {
            stride = strtol(argv[++i], NULL, 10);
            if (stride < 1)
                s_usage();
        } else if (strcmp(argv[i], "--alloc-stride") == 0 && i + 1 < argc) {
            alloc_stride = strtol(argv[++i], NULL, 10);
            if (alloc_stride < 1)
                s_usage();
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            s_jobs = (int)strtol(argv[++i], NULL, 10);
            if (s_jobs < 1 || s_jobs > MAX_JOBS)
                s_usage();
        } else if (strcmp(argv[i], "--replay") == 0 && i + 2 < argc) {
            one_step = strtol(argv[++i], NULL, 10);
            one_point = strtol(argv[++i], NULL, 10);
            if (one_step < 0 || (size_t)one_step >= N_STEPS || one_point < 1)
                s_usage();
        } else if (strcmp(argv[i], "--rest") == 0) {
            rest = 1;
        } else if (strcmp(argv[i], "--end-of-step") == 0) {
            rest = 0;
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            W.verbose = 1;
        } else {
            s_usage();
        }
    }
    gettimeofday(&t0, NULL);
    dn_log_init("dn_iosweep", W.verbose ? DN_LOG_ERROR : DN_LOG_QUIET, 0);
    if (s_alloc_setup() != 0 || sqlite3_initialize() != SQLITE_OK || s_vfs_setup() != 0) {
        fprintf(stderr, "dn_iosweep: cannot install the fault shims into SQLite\n");
        return 1;
    }
    dn_testctl_set_clock(s_clock, NULL);

    /* /dev/shm when there is one: real files, and fsync costs nothing.  */
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(s_base, sizeof s_base, "%s/dn-iosweep.XXXXXX", tmp);
    if (!mkdtemp(s_base)) {
        fprintf(stderr, "dn_iosweep: mkdtemp %s: %s\n", s_base, strerror(errno));
        return 1;
    }
    char dir[300];
    snprintf(dir, sizeof dir, "%s/run-0", s_base);
    if (s_world_at(dir) != 0 || s_central_setup() != 0 || s_reference() != 0) {
        if (!keep)
            s_remove_tree();
        return 1;
    }
    printf(
        "iosweep: scenario: %zu steps (agent init, open, 2 prices, 2 sign-ups, 3 sales, "
        "a refund, a member update; server start; a sync session of %d batches, one "
        "resent), %d events; one clean run meets %ld writes, %ld syncs, %ld truncates, "
        "%ld allocations\n",
        N_STEPS, N_BATCHES, N_EVENTS, s_total_points(K_WRITE), s_total_points(K_SYNC),
        s_total_points(K_TRUNC), s_total_points(K_ALLOC));
    if (W.verbose)
        for (size_t i = 0; i < N_STEPS; i++)
            printf("iosweep: step '%s': %ld writes, %ld syncs, %ld truncates, %ld "
                   "allocations\n",
                   s_steps[i].name, s_points[K_WRITE][i], s_points[K_SYNC][i],
                   s_points[K_TRUNC][i], s_points[K_ALLOC][i]);
    if (!alloc_stride)
        alloc_stride = stride;
    if (stride > 1)
        printf("iosweep: vfs sweeps: one point in %ld only (--stride %ld)\n", stride,
               stride);
    if (alloc_stride > 1)
        printf("iosweep: alloc sweep: one point in %ld only (--alloc-stride %ld)\n",
               alloc_stride, alloc_stride);
    fflush(stdout);
    if (one_step >= 0) {
        /* One run, in this process, its findings on stderr.  */
        s_kind_t k = only >= 0 ? (s_kind_t)only : K_WRITE;
        s_run((size_t)one_step, k, one_point, rest >= 0 ? rest : k != K_ALLOC);
        printf(
            "iosweep: replay %s step %ld point %ld: fired %d, surfaced %d, absorbed %d, "
            "half %d, lost %d, integrity %d, mismatch %d, misreported %d, retry "
            "failed %d: %s\n",
            s_kind_name[k], one_step, one_point, R.fired, R.surfaced, R.absorbed, R.half,
            R.lost, R.integrity, R.mismatch, R.misreport, R.retry_fail, R.what);
        failed =
            R.half || R.lost || R.integrity || R.mismatch || R.misreport || R.retry_fail;
        only = K_COUNT; /* no sweep */
    }
    for (int k = 0; k < K_COUNT; k++) {
        if (only >= 0 && only != k)
            continue;
        /* After a fault the vfs sweeps run the whole rest of the scenario;
           the alloc sweep, with thousands of points, finishes the step and
           compares with the reference after it (the rest would start from
           that very state).  */
        if (k == K_ALLOC && s_total_points(K_ALLOC) == 0 && s_under_valgrind()) {
            printf("iosweep: alloc: skipped: valgrind replaces malloc, so it cannot be "
                   "failed here (the vfs sweeps ran under valgrind)\n");
            continue;
        }
        int r = rest >= 0 ? rest : k != K_ALLOC;
        if (!r)
            printf(
                "iosweep: %s: after each fault the step is finished clean and compared "
                "with the reference after it\n",
                s_kind_name[k]);
        failed |= s_sweep((s_kind_t)k, k == K_ALLOC ? alloc_stride : stride, r);
    }
    for (size_t i = 0; i <= N_STEPS; i++) {
        free(s_ref[0][i]);
        free(s_ref[1][i]);
    }
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < s_n_known[f]; i++)
            free(s_known[f][i]);
    gettimeofday(&t1, NULL);
    printf("iosweep: %s in %.1f s (%d jobs)\n", failed ? "FAILED" : "ok",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6,
           s_jobs);
    if (keep)
        printf("iosweep: files kept in %s\n", s_base);
    else
        s_remove_tree();
    return failed;
}
